import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { ErrorCode, parseClientMessage } from "@runtimeuse/protocol";
import fc from "fast-check";
import { commands, type Frame, invocation, RawClient, waitFor } from "../support/client.js";
import {
  formatPath,
  fullRequest,
  type HostileCase,
  hostileCase,
  pathsOf,
  setAt,
  wrongValuesFor,
} from "./hostile-frames.js";
import { type CliChild, startCli } from "./support.js";

const FRAME_LIMIT = 64 * 1024;
const RUNS = 11_000;
const MIN_SENT = 10_000;
const CODES = new Set<string>(Object.values(ErrorCode));

let cli: CliChild;
let client: RawClient | undefined;
let probes = 0;
const stats = { sent: 0, skipped: 0, closes: 0, byKind: new Map<string, number>() };

/** A connection that keeps doing ordinary work while the fuzzer runs, and counts what it got right. */
const healthy = { rounds: 0, failures: [] as string[], stop: false, loop: Promise.resolve() };

async function healthyLoop(url: string): Promise<void> {
  const conn = await RawClient.connect(url);
  while (!healthy.stop) {
    const round = healthy.rounds;
    try {
      if (round % 4 === 3) {
        conn.send(commands(["echo ok"]));
        const { terminal } = await conn.untilTerminal();
        assert.deepEqual(terminal.results, [{ command: "echo ok", exit_code: 0, stdout: "ok\n" }]);
        const health = (await (await fetch(url.replace("ws:", "http:") + "/health")).json()) as { status: string };
        assert.equal(health.status, "ok");
      } else {
        conn.send(invocation({ user_prompt: `round ${round}` }));
        const { terminal } = await conn.untilTerminal();
        assert.deepEqual(terminal.data, { type: "text", text: `round ${round}` });
      }
    } catch (error) {
      healthy.failures.push(`round ${round}: ${String(error)}`);
      return;
    }
    healthy.rounds++;
    // Paced, so the fuzzer rather than this loop is what keeps the runtime busy.
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  await conn.close();
}

function send(ws: RawClient["ws"], hostile: HostileCase): void {
  if ("bytes" in hostile.payload) {
    ws.send(hostile.payload.bytes, { binary: hostile.payload.binary });
    return;
  }
  // Fragments are cut at byte offsets, so a character may straddle two of them.
  const bytes = Buffer.from(hostile.payload.text, "utf8");
  const cuts = Array.from({ length: hostile.fragments - 1 }, (_, i) =>
    Math.floor(((i + 1) * bytes.length) / hostile.fragments),
  );
  let start = 0;
  for (const [i, end] of [...cuts, bytes.length].entries()) {
    ws.send(bytes.subarray(start, end), { binary: false, fin: i === cuts.length });
    start = end;
  }
}

/** What the runtime must answer: the generator's expectation, cross-checked with the protocol parser. */
function expectationFor(hostile: HostileCase): HostileCase["expect"] | "skip" {
  if ("bytes" in hostile.payload || "close" in hostile.expect) return hostile.expect;
  const seen = Buffer.from(hostile.payload.text, "utf8");
  if (seen.length > FRAME_LIMIT) return { close: 1009 };
  const parsed = parseClientMessage(seen.toString("utf8"));
  if (parsed.ok) {
    if (parsed.message.message_type === "cancel_message") return { reply: "none" };
    // A mutation that happens to yield a valid request is not sent: it would run.
    assert.equal(hostile.expect.reply === "error" && hostile.expect.code, undefined, `generator bug: ${hostile.kind}`);
    return "skip";
  }
  if (hostile.expect.reply === "error" && hostile.expect.code !== undefined) {
    assert.equal(parsed.error.code, hostile.expect.code, `${hostile.kind}: ${parsed.error.message}`);
    if (hostile.expect.field !== undefined) assert.equal(parsed.error.field, hostile.expect.field);
  }
  return { reply: "error", code: parsed.error.code, ...(parsed.error.field ? { field: parsed.error.field } : {}) };
}

async function check(hostile: HostileCase): Promise<void> {
  const expect = expectationFor(hostile);
  if (expect === "skip") {
    stats.skipped++;
    return;
  }
  if (client === undefined || client.closeCode !== undefined) client = await RawClient.connect(cli.url);
  const conn = client;
  send(conn.ws, hostile);
  stats.sent++;
  stats.byKind.set(hostile.kind, (stats.byKind.get(hostile.kind) ?? 0) + 1);
  if ("close" in expect) {
    assert.equal(await conn.closed, expect.close, hostile.kind);
    assert.deepEqual(await conn.drain(0), [], "a closing frame gets no error_message as well");
    stats.closes++;
    return;
  }
  // The probe's answer must come right after this frame's one answer (or first, when none is due).
  const probe = `probe-${probes++}`;
  conn.send({ message_type: probe });
  const replies: Frame[] = [];
  for (;;) {
    const frame = await conn.next();
    replies.push(frame);
    if (String(frame.error).includes(probe)) break;
    assert.ok(replies.length <= 1, `more than one reply to a ${hostile.kind} frame: ${JSON.stringify(replies)}`);
  }
  const answers = replies.slice(0, -1);
  if (expect.reply === "none") {
    assert.deepEqual(answers, [], hostile.kind);
    return;
  }
  const [answer] = answers;
  assert.ok(answer, `no reply to a ${hostile.kind} frame`);
  assert.equal(answer.message_type, "error_message");
  const metadata = answer.metadata as { code?: string; field?: string };
  assert.ok(CODES.has(String(metadata.code)), `unknown code ${metadata.code}`);
  if (expect.code !== undefined) assert.equal(metadata.code, expect.code);
  if (expect.field !== undefined) assert.equal(metadata.field, expect.field);
  const error = String(answer.error);
  assert.ok(error.length > 0 && error.length <= 600, `unclear error: ${error.slice(0, 700)}`);
}

async function checkpoint(): Promise<void> {
  assert.equal(cli.child.exitCode, null, `the runtime died: ${cli.stderr().slice(-2000)}`);
  assert.deepEqual(healthy.failures, []);
  const seen = healthy.rounds;
  await waitFor(() => healthy.rounds > seen || healthy.failures.length > 0, 30_000, "the healthy client to progress");
  assert.deepEqual(healthy.failures, []);
}

describe("hostile frames against the real CLI", () => {
  before(async () => {
    cli = await startCli(["--agent", "echo", "--max-frame-bytes", String(FRAME_LIMIT), "--log-level", "warn"]);
    healthy.loop = healthyLoop(cli.url);
  });
  after(async () => {
    healthy.stop = true;
    await healthy.loop;
    await client?.close();
    cli.child.kill("SIGTERM");
    await cli.exited;
  });

  test("every field of every request with every wrong type gets one invalid_field error naming it", async () => {
    const samples = fc.sample(fullRequest, { numRuns: 8, seed: 42 });
    for (const message of samples) {
      for (const path of pathsOf(message)) {
        const current = path.reduce<unknown>((node, key) => (node as Record<string | number, unknown>)[key], message);
        for (const value of wrongValuesFor(current as never)) {
          const field = formatPath(path);
          await check({
            kind: "every_field",
            payload: { text: JSON.stringify(setAt(message, path, value)) },
            fragments: 1,
            expect: {
              reply: "error",
              code: field === "message_type" ? ErrorCode.UnknownMessageType : ErrorCode.InvalidField,
              field,
            },
          });
        }
      }
    }
    await checkpoint();
  });

  test(`${RUNS} generated and mutated frames: one clear error or the right close each, runtime and others unharmed`, async () => {
    let runs = 0;
    await fc.assert(
      fc.asyncProperty(hostileCase(FRAME_LIMIT), async (hostile) => {
        await check(hostile);
        if (++runs % 1000 === 0) await checkpoint();
      }),
      { numRuns: RUNS, endOnFailure: true },
    );
    await checkpoint();
    assert.ok(stats.sent >= MIN_SENT, `only ${stats.sent} frames were sent (${stats.skipped} skipped)`);
    assert.ok(stats.closes > 0, "some frames closed their connection");
    for (const kind of ["wrong_type", "deep", "proto_key", "binary", "invalid_utf8", "oversize", "truncated"]) {
      assert.ok((stats.byKind.get(kind) ?? 0) > 0, `no ${kind} frame was sent`);
    }
    const health = (await (await fetch(cli.url.replace("ws:", "http:") + "/health")).json()) as { status: string };
    assert.equal(health.status, "ok");
    assert.doesNotMatch(cli.stderr(), /ERROR|session failed|uncaught/, "nothing failed inside the runtime");
    console.log(
      `fuzz: ${stats.sent} frames sent, ${stats.skipped} skipped as valid, ${stats.closes} closes, ` +
        `${healthy.rounds} healthy rounds; ${JSON.stringify(Object.fromEntries(stats.byKind))}`,
    );
  });
});
