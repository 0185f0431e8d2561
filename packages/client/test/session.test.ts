import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import {
  AgentRuntimeError,
  ConnectionError,
  RuntimeUseClient,
  type RuntimeUseSession,
  SessionClosedError,
} from "../src/node.js";
import { Q, recordingHandler, waitFor, withRuntime } from "./support/runtime.js";
import { announceSession, expectFrame, startScriptedServer } from "./support/scripted-server.js";

const connectionsOpened = (logs: string[]) => logs.filter((line) => line.startsWith("INFO connection open")).length;

describe("sessions against the real runtime", () => {
  test("one session carries 50 requests mixing queries, structured queries, commands and failures, each with its own answer", async () => {
    const { handler } = recordingHandler(async (invocation, sender) => {
      await sender.sendAssistantMessage([`thinking about ${invocation.userPrompt}`]);
      if (invocation.outputFormat)
        return { type: "structured_output", structuredOutput: JSON.parse(invocation.userPrompt) };
      return { type: "text", text: `answer:${invocation.userPrompt}` };
    });
    await withRuntime({ handler }, async ({ url, logs }) => {
      await using session = await new RuntimeUseClient({ url }).session();
      for (let i = 0; i < 50; i++) {
        switch (i % 5) {
          case 0: {
            const output: string[] = [];
            const result = await session.executeCommands([{ command: `echo cmd-${i}` }], {
              onCommandOutput: (event) => {
                output.push(event.text);
              },
            });
            assert.deepEqual(result.results, [{ command: `echo cmd-${i}`, exitCode: 0, stdout: `cmd-${i}\n` }]);
            assert.deepEqual(output, [`cmd-${i}\n`]);
            break;
          }
          case 1: {
            const assistant: string[] = [];
            const result = await session.query(`q${i}`, {
              ...Q,
              onAssistantMessage: (event) => {
                assistant.push(...event.textBlocks);
              },
            });
            assert.deepEqual(result.data, { type: "text", text: `answer:q${i}` });
            assert.deepEqual(assistant, [`thinking about q${i}`]);
            break;
          }
          case 2: {
            const result = await session.query(JSON.stringify({ n: i }), { ...Q, outputSchema: { type: "object" } });
            assert.deepEqual(result.data, { type: "structured_output", structuredOutput: { n: i } });
            break;
          }
          case 3:
            await assert.rejects(
              session.query(`q${i}`, { ...Q, preAgentInvocationCommands: [{ command: `exit ${i % 100}` }] }),
              (error: unknown) => error instanceof AgentRuntimeError && error.metadata.exit_code === i,
            );
            break;
          default: {
            const result = await session.executeCommands([{ command: "true" }, { command: `exit ${i}` }]);
            assert.deepEqual(
              result.results.map((r) => r.exitCode),
              [0, i],
            );
          }
        }
      }
      assert.equal(connectionsOpened(logs), 1, "all 50 requests used one connection");
    });
  });

  test("calls made at once on a session run one after another, in call order", async () => {
    const { handler, invocations } = recordingHandler(async (invocation) => {
      await new Promise((resolve) => setTimeout(resolve, 5));
      return { type: "text", text: invocation.userPrompt };
    });
    await withRuntime({ handler }, async ({ url, logs }) => {
      await using session = await new RuntimeUseClient({ url }).session();
      const calls = Array.from({ length: 10 }, (_, i) =>
        i % 2 === 0
          ? session.query(`p${i}`, Q).then((r) => (r.data.type === "text" ? r.data.text : ""))
          : session.executeCommands([{ command: `echo c${i}` }]).then((r) => r.results[0]?.stdout?.trim()),
      );
      assert.deepEqual(
        await Promise.all(calls),
        Array.from({ length: 10 }, (_, i) => (i % 2 === 0 ? `p${i}` : `c${i}`)),
      );
      assert.deepEqual(
        invocations.map((i) => i.userPrompt),
        ["p0", "p2", "p4", "p6", "p8"],
      );
      assert.ok(!logs.some((line) => line.includes("request_in_flight")), "the runtime never saw two at once");
    });
  });

  test("close() does the end-session handshake after the request in flight, is idempotent, and later calls fail", async () => {
    const { handler } = recordingHandler(async (invocation) => {
      await new Promise((resolve) => setTimeout(resolve, 50));
      return { type: "text", text: invocation.userPrompt };
    });
    await withRuntime({ handler }, async ({ url, server, logs }) => {
      const session = await new RuntimeUseClient({ url }).session();
      const inFlight = session.query("finish me", Q);
      const closing = session.close();
      assert.equal(session.state, "closing");
      assert.equal(session.close(), closing, "a second close() returns the same promise");
      assert.deepEqual((await inFlight).data, { type: "text", text: "finish me" });
      const closed = await closing;
      assert.ok("artifacts" in closed);
      assert.equal(session.state, "closed");
      await waitFor(() => server.connectionCount === 0, "the runtime to close the connection");
      assert.ok(logs.some((line) => line.includes("request end") && line.includes("outcome=ok")));
      await assert.rejects(session.query("too late", Q), SessionClosedError);
      await assert.rejects(session.executeCommands([{ command: "true" }]), SessionClosedError);
    });
  });

  test("await using closes the session when the block ends, also when it throws", async () => {
    await withRuntime({ handler: recordingHandler().handler }, async ({ url, server }) => {
      const client = new RuntimeUseClient({ url });
      let kept: RuntimeUseSession | undefined;
      {
        await using session = await client.session();
        kept = session;
        await session.executeCommands([{ command: "true" }]);
        assert.equal(server.connectionCount, 1);
      }
      assert.equal(kept?.state, "closed");
      await assert.rejects(async () => {
        await using session = await client.session();
        kept = session;
        throw new Error("the block failed");
      }, /the block failed/);
      assert.equal(kept?.state, "closed");
      await waitFor(() => server.connectionCount === 0, "both connections to close");
    });
  });

  test("close() rejects with ConnectionError when the runtime went away while the session was idle", async () => {
    const runtime = { handler: recordingHandler().handler };
    let session: RuntimeUseSession | undefined;
    await withRuntime(runtime, async ({ url, server }) => {
      session = await new RuntimeUseClient({ url }).session();
      await session.executeCommands([{ command: "true" }]);
      await server.stop();
    });
    await waitFor(() => session?.state === "closed", "the session to notice the closed connection");
    await assert.rejects(session?.close() ?? Promise.resolve(), (error: unknown) => {
      assert.ok(error instanceof ConnectionError);
      assert.equal(error.closeCode, 1001);
      return true;
    });
  });

  test("close() rejects with TimeoutError closeTimeout when the runtime never confirms, and closes the connection", async () => {
    const server = await startScriptedServer(async (peer) => {
      await expectFrame(peer, "end_session_message");
    });
    try {
      const session = await new RuntimeUseClient({ url: server.url, closeTimeout: 200 }).session();
      await assert.rejects(session.close(), /^TimeoutError: the runtime did not confirm the end of the session/);
      assert.equal(await (await server.peer(0)).closed, 1000);
      assert.equal(session.state, "closed");
    } finally {
      await server.close();
    }
  });
});

describe("a session closed while it reconnects", () => {
  test("a resume handshake that completes after close() is closed at once, not adopted", async () => {
    let releaseAttempt = () => {};
    const attemptHeld = new Promise<void>((resolve) => {
      releaseAttempt = resolve;
    });
    let attemptArrived = () => {};
    const arrived = new Promise<void>((resolve) => {
      attemptArrived = resolve;
    });
    const server = await startScriptedServer(
      async (peer) => {
        if (peer.request.url?.includes("resume=")) return;
        announceSession(peer);
        // A drop the client resumes from.
        setTimeout(() => peer.close(1011, "gone"), 50);
      },
      {
        holdUpgrade: async (index) => {
          if (index === 0) return;
          attemptArrived();
          await attemptHeld;
        },
      },
    );
    try {
      const session = await new RuntimeUseClient({
        url: server.url,
        closeTimeout: 200,
        maxReconnectDelay: 100,
      }).session();
      await arrived;
      await assert.rejects(session.close(), /^TimeoutError/);
      releaseAttempt();
      const attempt = await server.peer(1);
      const code = await Promise.race([attempt.closed, sleep(5_000).then(() => "still open")]);
      assert.equal(code, 1000, "the late resume connection must be closed, ending the session");
    } finally {
      await server.close();
    }
  });
});

describe("a resume attempt the runtime does not answer", () => {
  test("is dropped after its time without a close frame, and the next attempt resumes the call", async () => {
    let clientSeq = 0;
    const server = await startScriptedServer(async (peer) => {
      const index = server.peers.indexOf(peer);
      if (index === 0) {
        announceSession(peer);
        clientSeq = Number((await expectFrame(peer, "invocation_message")).seq ?? 0);
        peer.close(1011, "gone");
      } else if (index === 2) {
        peer.send({ message_type: "resumed_message", session_id: "sid", last_client_seq: clientSeq });
        peer.send({
          message_type: "result_message",
          metadata: {},
          data: { type: "text", text: "after the resume" },
          seq: 1,
        });
      }
      // The second connection (index 1) is accepted and never answered.
    });
    try {
      const call = new RuntimeUseClient({ url: server.url, maxReconnectDelay: 200 }).query("p", Q);
      const result = await Promise.race([
        call,
        sleep(10_000).then(() => {
          throw new Error("no result within 10 s: the silent attempt was kept instead of dropped");
        }),
      ]);
      assert.deepEqual(result.data, { type: "text", text: "after the resume" });
      assert.equal(result.metadata.reconnects, 1);
      assert.equal(server.peers.length, 3);
      assert.ok(server.peers.slice(1).every((peer) => peer.request.url?.includes("resume=sid")));
      // Dropped, not closed with 1000: a 1000 would end the session had the runtime answered late.
      assert.equal(await server.peers[1]?.closed, 1006);
    } finally {
      await server.close();
    }
  });
});
