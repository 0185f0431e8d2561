import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { type OutputStream, runCommand } from "../../src/commands/index.js";
import { REDACTED } from "../../src/redact/redact.js";
import { commandName, runningInGroup, waitChannel, waitFor } from "./support/processes.js";

const writer = fileURLToPath(new URL("./support/writer.mjs", import.meta.url));
let scratch: string;
before(async () => {
  scratch = await mkdtemp(join(tmpdir(), "output-"));
});
after(async () => {
  await rm(scratch, { recursive: true, force: true });
});

interface PlannedWrite {
  fd: 1 | 2;
  bytes: Buffer;
}

/** Runs the writer script: each planned chunk is one write(2), with a pause after it. */
async function runWriter(writes: PlannedWrite[], secrets: string[] = [], pauseMs = 1) {
  const planFile = join(scratch, `plan-${Math.random().toString(36).slice(2)}.json`);
  const plan = { pauseMs, writes: writes.map((w) => ({ fd: w.fd, hex: w.bytes.toString("hex") })) };
  await writeFile(planFile, JSON.stringify(plan));
  const streamed: Record<OutputStream, string> = { stdout: "", stderr: "" };
  const outcome = await runCommand({
    command: `"${process.execPath}" "${writer}" "${planFile}"`,
    secrets,
    onOutput: (stream, text) => {
      streamed[stream] += text;
    },
  });
  return { outcome, streamed };
}

/** A deterministic generator, so a failure can be reproduced. */
function seededLetters(seed: number) {
  let state = seed;
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-+=/.";
  return (length: number) => {
    let out = "";
    for (let i = 0; i < length; i++) {
      state = (state * 1103515245 + 12345) % 2147483648;
      out += alphabet[state % alphabet.length];
    }
    return out;
  };
}

describe("command output streaming", () => {
  test("50 MiB of output arrives byte-exact, with a listener applying backpressure", async () => {
    const line = "0123 €uro ünïcødé line...\n";
    assert.equal(Buffer.byteLength(line), 32);
    const total = 50 * 1024 * 1024;
    const expected = createHash("sha256");
    const lineBytes = Buffer.from(line);
    const block = Buffer.concat(Array.from({ length: 1024 }, () => lineBytes));
    for (let i = 0; i < total / block.length; i++) expected.update(block);

    const received = createHash("sha256");
    let bytes = 0;
    let calls = 0;
    const outcome = await runCommand({
      command: `yes '${line.slice(0, -1)}' | head -c ${total}`,
      onOutput: async (stream, text) => {
        assert.equal(stream, "stdout");
        received.update(text, "utf8");
        bytes += Buffer.byteLength(text);
        if (++calls % 16 === 0) await new Promise((resolve) => setImmediate(resolve));
      },
    });
    assert.equal(outcome.exitCode, 0);
    assert.equal(bytes, total);
    assert.equal(received.digest("hex"), expected.digest("hex"));
    assert.equal(outcome.stdoutTruncated, true);
    assert.equal(Buffer.byteLength(outcome.stdout), 1024 * 1024);
  });

  test("a multi-byte character split across writes arrives intact, at every split point", async () => {
    const chars = ["é", "€", "😀"];
    const writes: PlannedWrite[] = [];
    let expected = "";
    for (const char of chars) {
      const bytes = Buffer.from(char);
      for (let cut = 1; cut < bytes.length; cut++) {
        for (const fd of [1, 2] as const) {
          writes.push({ fd, bytes: Buffer.concat([Buffer.from("<"), bytes.subarray(0, cut)]) });
          writes.push({ fd, bytes: Buffer.concat([bytes.subarray(cut), Buffer.from(">")]) });
        }
        expected += `<${char}>`;
      }
    }
    const { outcome, streamed } = await runWriter(writes, [], 5);
    assert.equal(outcome.exitCode, 0);
    assert.equal(streamed.stdout, expected);
    assert.equal(streamed.stderr, expected);
    assert.equal(outcome.stdout, expected);
    assert.equal(outcome.stderr, expected);
  });

  test("secrets of 2 to 200 bytes written in two parts, split at every position, never reach the listener", async () => {
    const letters = seededLetters(7);
    const lengths = [2, 3, 4, 5, 8, 16, 31, 32, 64, 100, 128, 199, 200];
    const secrets = lengths.map((length) => letters(length));
    const writes: PlannedWrite[] = [];
    const expectedLines: string[] = [];
    for (const secret of secrets) {
      for (let cut = 1; cut < secret.length; cut++) {
        for (const fd of [1, 2] as const) {
          writes.push({ fd, bytes: Buffer.from(`<${cut}:${secret.slice(0, cut)}`) });
          writes.push({ fd, bytes: Buffer.from(`${secret.slice(cut)}>\n`) });
        }
        expectedLines.push(`<${cut}:${REDACTED}>`);
      }
    }
    const { outcome, streamed } = await runWriter(writes, secrets);
    assert.equal(outcome.exitCode, 0);
    for (const text of [streamed.stdout, streamed.stderr, outcome.stdout, outcome.stderr]) {
      for (const secret of secrets)
        assert.equal(text.includes(secret), false, `secret of ${secret.length} bytes leaked`);
      assert.deepEqual(text.split("\n").slice(0, -1), expectedLines);
    }
  });

  test("secrets written one byte at a time never reach the listener", async () => {
    const letters = seededLetters(11);
    const secrets = [2, 3, 17, 64, 200].map((length) => letters(length));
    const writes: PlannedWrite[] = [];
    for (const secret of secrets) {
      for (const fd of [1, 2] as const) {
        for (const byte of Buffer.from(`[${secret}]\n`)) writes.push({ fd, bytes: Buffer.from([byte]) });
      }
    }
    const { outcome, streamed } = await runWriter(writes, secrets);
    const expected = secrets.map(() => `[${REDACTED}]\n`).join("");
    assert.equal(outcome.exitCode, 0);
    assert.equal(streamed.stdout, expected);
    assert.equal(streamed.stderr, expected);
    assert.equal(outcome.stdout, expected);
    assert.equal(outcome.stderr, expected);
  });

  test("a secret is redacted in the captured tail even when the cap cuts the output", async () => {
    const outcome = await runCommand({
      command: "head -c 5000 /dev/zero | tr '\\0' a; echo; echo top-secret-value",
      secrets: ["top-secret-value"],
      maxCapturedBytes: 100,
    });
    assert.equal(outcome.stdout.includes("top-secret-value"), false);
    assert.ok(outcome.stdout.endsWith(`${REDACTED}\n`));
  });

  test("reading stops while the listener's promises are pending, so the writer blocks", async () => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    let calls = 0;
    let bytes = 0;
    let stdout = "";
    let pgid = 0;
    const total = 20 * 1024 * 1024;
    const outcome = runCommand({
      command: `echo $$; head -c ${total} /dev/zero | tr '\\0' q`,
      onOutput: async (_stream, text) => {
        if (calls++ === 0) stdout = text;
        bytes += text.length;
        await gate;
      },
    });
    try {
      pgid = Number(await waitFor(() => /^(\d+)\n/.exec(stdout)?.[1], "the shell's pid"));
      const tr = await waitFor(() => runningInGroup(pgid).find((pid) => commandName(pid) === "tr"), "tr to start");
      // Node gives children socket pairs for stdio: a full one blocks the writer in the socket send path.
      await waitFor(
        () => /pipe_write|sock_alloc_send|unix_stream/.test(waitChannel(tr)),
        "tr to block on its full stdout",
      );
      // One more chunk may be handed over before reading stops, no more.
      assert.ok(calls <= 2, `${calls} chunks were handed over while the listener was behind`);
    } finally {
      release();
    }
    const result = await outcome;
    assert.equal(result.exitCode, 0);
    // The first chunk may hold tr's output too: count the pid line alone.
    assert.equal(bytes, total + `${pgid}\n`.length);
  });
});
