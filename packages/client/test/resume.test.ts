import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdtemp, readFile, realpath, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import type { AgentHandlerFunction } from "../../runtimeuse/src/handler.js";
import { PutSink } from "../../runtimeuse/test/artifacts/support/put-sink.js";
import { type Cut, FaultProxy } from "../../runtimeuse/test/support/fault-proxy.js";
import {
  ConnectionError,
  ConnectionLostError,
  NodeWebSocketTransport,
  type ReconnectEvent,
  RuntimeUseClient,
} from "../src/node.js";
import { Q, waitFor, withRuntime } from "./support/runtime.js";

/*
 * Resumable connections end to end: the real runtime, the real client, and
 * between them a TCP proxy on 127.0.0.1 that cuts the connection the ways
 * networks do (a FIN, a reset, a silent stall). Grace windows and ping
 * intervals are short so that the whole file stays quick.
 */

const PING_MS = 150;
const LINES = 2_600_000; // `seq 1 2600000` prints 20 MB
const MESSAGES = 1000;
const ARTIFACTS = 50;

let dir: string;
let sink: PutSink;
beforeEach(async () => {
  dir = await realpath(await mkdtemp(join(tmpdir(), "ru-resume-")));
  sink = await PutSink.start();
});
afterEach(async () => {
  await sink.close();
  await rm(dir, { recursive: true, force: true });
});

const artifactBytes = (i: number) => Buffer.from(`artifact ${i}\n`.repeat(50 + i));
const sha256 = (bytes: Buffer) => createHash("sha256").update(bytes).digest("hex");

function clientThrough(proxy: FaultProxy, extra: Partial<ConstructorParameters<typeof RuntimeUseClient>[0]> = {}) {
  return new RuntimeUseClient({
    url: proxy.url,
    transport: new NodeWebSocketTransport({ pingInterval: PING_MS }),
    maxReconnectDelay: 200,
    ...extra,
  });
}

/** True while the process `pid` exists (a zombie counts as gone: it no longer runs). */
async function running(pid: number): Promise<boolean> {
  try {
    const status = await readFile(`/proc/${pid}/status`, "utf8");
    return !/^State:\s+Z/m.test(status);
  } catch {
    return false;
  }
}

describe("resumable connections through a faulty network", () => {
  test("20 MB of command output, 1000 messages and 50 artifacts arrive exactly once and in order across cuts of every kind", async () => {
    let cutsDone = () => {};
    const allCut = new Promise<void>((resolve) => {
      cutsDone = resolve;
    });
    const handler: AgentHandlerFunction = async (invocation, sender) => {
      const outcome = await invocation.runCommand(`seq 1 ${LINES}`);
      // Paced a little, so that the run lasts long enough for its cuts on a fast machine.
      for (let i = 1; i <= MESSAGES; i++) {
        await sender.sendAssistantMessage([`message ${i}`]);
        if (i % 50 === 0) await sleep(20);
      }
      for (let i = 1; i <= ARTIFACTS; i++) {
        await writeFile(join(dir, `artifact-${i}.bin`), artifactBytes(i));
        await sleep(10);
      }
      // The result waits (at most 30 s) until the test made all its cuts.
      await Promise.race([allCut, sleep(30_000, undefined, { ref: false })]);
      return { type: "text" as const, text: `seq exited ${outcome.exitCode}` };
    };
    await withRuntime(
      { handler, resumeGraceMs: 15_000, pingIntervalMs: PING_MS, artifacts: { settleMs: 20 } },
      async (runtime) => {
        const proxy = await FaultProxy.start(runtime.port);
        try {
          // Cuts at random moments: three during the command's output, two during the messages, one during the artifacts.
          const kinds: Cut[] = ["close", "reset", "stall", "reset", "stall", "close"];
          const at = {
            bytes: [1, 2, 3].map((k) => Math.floor((k * 5 + Math.random() * 4) * 1_000_000)),
            messages: [1, 2].map((k) => Math.floor(k * 300 + Math.random() * 200)),
            artifacts: [Math.floor(5 + Math.random() * 30)],
          };
          const cuts: Cut[] = [];
          const reconnects: ReconnectEvent[] = [];
          /** Cuts due but not made yet: while a connection is being resumed, it waits. */
          let due = 0;
          const cutNow = (more = 1) => {
            due += more;
            // Each cut lands on a connection that was resumed after the cut before it.
            if (due === 0 || reconnects.length < cuts.length) return;
            const kind = kinds[cuts.length % kinds.length] as Cut;
            if (proxy.cut(kind) > 0) {
              cuts.push(kind);
              due--;
              if (cuts.length === kinds.length) cutsDone();
            }
          };
          let text = "";
          let bytes = 0;
          const messages: string[] = [];
          const offers: string[] = [];
          // A cut that found no connection to break (one was being resumed) is tried again soon.
          const retry = setInterval(() => cutNow(0), 20);
          const result = await clientThrough(proxy, { onReconnect: (event) => reconnects.push(event) }).query(dir, {
            ...Q,
            artifactsDirs: [dir],
            idleTimeout: 30_000,
            onCommandOutput: (event) => {
              text += event.text;
              bytes += event.text.length;
              const reached = at.bytes.length > 0 && bytes >= (at.bytes[0] as number);
              if (reached) at.bytes.shift();
              cutNow(reached ? 1 : 0);
            },
            onAssistantMessage: (event) => {
              messages.push(event.textBlocks.join(""));
              const reached = at.messages.length > 0 && messages.length >= (at.messages[0] as number);
              if (reached) at.messages.shift();
              cutNow(reached ? 1 : 0);
            },
            onArtifactUploadRequest: (offer) => {
              offers.push(offer.filename);
              const reached = at.artifacts.length > 0 && offers.length >= (at.artifacts[0] as number);
              if (reached) at.artifacts.shift();
              cutNow(reached ? 1 : 0);
              return { presignedUrl: sink.urlFor(offer.filename), contentType: "application/octet-stream" };
            },
          });
          clearInterval(retry);
          assert.equal(cuts.length, kinds.length, `every cut happened: ${cuts.join(", ")}`);
          assert.deepEqual(new Set(cuts), new Set(["close", "reset", "stall"]));
          assert.deepEqual(result.data, { type: "text", text: "seq exited 0" });
          assert.equal(result.metadata.reconnects, reconnects.length);
          // Every cut but possibly the last (which may land after the result arrived) needed a resume.
          assert.ok(reconnects.length >= cuts.length - 1, `${reconnects.length} resumes for ${cuts.length} cuts`);

          const lines = text.split("\n");
          assert.equal(lines.pop(), "", "the output ends with a newline");
          assert.equal(lines.length, LINES, "every line arrived exactly once");
          const misplaced = lines.findIndex((line, index) => line !== String(index + 1));
          assert.equal(misplaced, -1, `every line is in its place (first wrong: ${misplaced})`);
          assert.deepEqual(
            messages,
            Array.from({ length: MESSAGES }, (_, i) => `message ${i + 1}`),
          );

          assert.equal(offers.length, ARTIFACTS, "every offer was answered exactly once");
          await waitFor(() => sink.uploads.length >= ARTIFACTS, "the uploads");
          const uploads = new Map<string, number>();
          for (const upload of sink.uploads) uploads.set(upload.file, (uploads.get(upload.file) ?? 0) + 1);
          for (let i = 1; i <= ARTIFACTS; i++) {
            const name = `artifact-${i}.bin`;
            assert.equal(uploads.get(name), 1, `${name} was uploaded once`);
            const upload = sink.uploads.find((u) => u.file === name);
            assert.equal(upload?.sha256, sha256(artifactBytes(i)), `${name} has the right bytes`);
          }
        } finally {
          await proxy.close();
        }
      },
    );
  });

  test("a session keeps working across a drop between and during requests", async () => {
    await withRuntime(
      { handler: async (i) => ({ type: "text", text: i.userPrompt }), resumeGraceMs: 10_000, pingIntervalMs: PING_MS },
      async (runtime) => {
        const proxy = await FaultProxy.start(runtime.port);
        try {
          const session = await clientThrough(proxy).session();
          assert.equal((await session.query("one", Q)).data.type, "text");
          proxy.cut("reset");
          const second = await session.executeCommands([{ command: "echo two" }]);
          assert.equal(second.results[0]?.stdout, "two\n");
          const running = session.executeCommands([{ command: "sleep 0.3; echo three" }]);
          setTimeout(() => proxy.cut("close"), 100);
          assert.equal((await running).results[0]?.stdout, "three\n");
          await session.close();
        } finally {
          await proxy.close();
        }
      },
    );
  });

  test("cut and never come back: the call fails with ConnectionLostError and the processes are gone after the window", async () => {
    await withRuntime(
      {
        handler: async () => ({ type: "text", text: "" }),
        resumeGraceMs: 1500,
        pingIntervalMs: PING_MS,
        killGraceMs: 200,
      },
      async (runtime) => {
        const proxy = await FaultProxy.start(runtime.port);
        try {
          const pidFile = join(dir, "pid");
          // The client gives up long before the runtime's window ends.
          const call = clientThrough(proxy, { maxReconnectAttempts: 3, maxReconnectDelay: 50 }).executeCommands([
            { command: `echo $$ > ${pidFile}; exec sleep 300` },
          ]);
          await waitFor(() => existsSync(pidFile), "the command to start");
          await new Promise((resolve) => setTimeout(resolve, 50));
          const pid = Number((await readFile(pidFile, "utf8")).trim());
          assert.ok(await running(pid));
          proxy.refuse = true;
          proxy.cut("reset");
          const error = await call.then(
            () => assert.fail("the call succeeded"),
            (e: unknown) => e,
          );
          assert.ok(error instanceof ConnectionLostError, String(error));
          assert.equal(error.code, "connection_lost");
          assert.ok(error instanceof ConnectionError);
          assert.equal(error.attempts, 3);
          assert.ok(await running(pid), "inside the window the process still runs");
          await waitFor(
            () => runtime.logs.some((line) => line.includes("resume grace expired")),
            "the grace window to end",
          );
          const deadline = Date.now() + 5000;
          while ((await running(pid)) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
          assert.equal(await running(pid), false, "the process was killed after the window");
        } finally {
          await proxy.close();
        }
      },
    );
  });

  test("a plain connection (reconnect: false) still cancels at once on a drop and kills its processes", async () => {
    await withRuntime(
      { handler: async () => ({ type: "text", text: "" }), resumeGraceMs: 60_000, killGraceMs: 200 },
      async (runtime) => {
        const proxy = await FaultProxy.start(runtime.port);
        try {
          const pidFile = join(dir, "pid");
          const call = clientThrough(proxy, { reconnect: false }).executeCommands([
            { command: `echo $$ > ${pidFile}; exec sleep 300` },
          ]);
          await waitFor(() => existsSync(pidFile), "the command to start");
          await new Promise((resolve) => setTimeout(resolve, 50));
          const pid = Number((await readFile(pidFile, "utf8")).trim());
          proxy.cut("reset");
          const error = await call.then(
            () => assert.fail("the call succeeded"),
            (e: unknown) => e,
          );
          assert.ok(error instanceof ConnectionError && !(error instanceof ConnectionLostError), String(error));
          const deadline = Date.now() + 3000;
          while ((await running(pid)) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
          assert.equal(await running(pid), false, "killed long before a grace window would end");
        } finally {
          await proxy.close();
        }
      },
    );
  });
});
