import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { CancelledError, RuntimeUseClient, SessionClosedError } from "../src/node.js";
import { aborted, Q, recordingHandler, waitFor, withRuntime } from "./support/runtime.js";
import { expectFrame, startScriptedServer } from "./support/scripted-server.js";

/** A handler that announces it started, then blocks until its signal fires (or answers a "quick" prompt at once). */
function blockingHandler() {
  const state = { started: 0, abortedSignals: 0 };
  const { handler, invocations } = recordingHandler(async (invocation) => {
    if (invocation.userPrompt.startsWith("quick")) return { type: "text", text: `answer:${invocation.userPrompt}` };
    state.started++;
    await aborted(invocation.signal);
    state.abortedSignals++;
    return { type: "text", text: "too late" };
  });
  return { handler, invocations, state };
}

describe("cancelling requests", () => {
  test("client.abort() cancels a query in flight: CancelledError, and the handler's signal fires", async () => {
    const { handler, state } = blockingHandler();
    await withRuntime({ handler }, async ({ url, logs }) => {
      const client = new RuntimeUseClient({ url });
      const pending = client.query("block", Q);
      await waitFor(() => state.started === 1, "the handler to start");
      client.abort("user pressed stop");
      await assert.rejects(pending, (error: unknown) => {
        assert.ok(error instanceof CancelledError);
        assert.equal(error.message, "Query was cancelled");
        assert.equal(error.reason, "user pressed stop");
        return true;
      });
      await waitFor(() => state.abortedSignals === 1, "the handler's signal to fire");
      // The client waited for the runtime's own terminal: the runtime recorded a cancel, not a disconnect.
      assert.ok(logs.some((line) => line.includes("request end") && line.includes("outcome=cancelled")));
    });
  });

  test("an AbortSignal cancels executeCommands and the runtime kills the command", async () => {
    await withRuntime({ handler: recordingHandler().handler }, async ({ url, server }) => {
      const controller = new AbortController();
      const pending = new RuntimeUseClient({ url }).executeCommands([{ command: "echo started; sleep 60" }], {
        signal: controller.signal,
        onCommandOutput: (event) => {
          if (event.text.includes("started")) controller.abort();
        },
      });
      await assert.rejects(pending, (error: unknown) => {
        assert.ok(error instanceof CancelledError);
        assert.equal(error.message, "Command execution was cancelled");
        return true;
      });
      await waitFor(() => server.requestsInFlight === 0, "the runtime to finish the request");
    });
  });

  test("a signal that is already aborted rejects at once and nothing reaches the runtime", async () => {
    const { handler, invocations } = recordingHandler();
    await withRuntime({ handler }, async ({ url, logs }) => {
      const client = new RuntimeUseClient({ url });
      const signal = AbortSignal.abort("not wanted");
      await assert.rejects(client.query("x", { ...Q, signal }), CancelledError);
      await assert.rejects(client.executeCommands([{ command: "true" }], { signal }), CancelledError);
      await using session = await client.session();
      await assert.rejects(session.query("x", { ...Q, signal }), CancelledError);
      assert.equal(invocations.length, 0);
      assert.equal(logs.filter((line) => line.includes("request start")).length, 0);
    });
  });

  test("session.abort() cancels the request in flight and the next request gets its own answer", async () => {
    const { handler, state } = blockingHandler();
    await withRuntime({ handler }, async ({ url }) => {
      await using session = await new RuntimeUseClient({ url }).session();
      const pending = session.query("block", Q);
      await waitFor(() => state.started === 1, "the handler to start");
      session.abort();
      await assert.rejects(pending, CancelledError);
      const next = await session.query("quick one", Q);
      assert.deepEqual(next.data, { type: "text", text: "answer:quick one" });
    });
  });

  test("a signal cancels a session request, and a call waiting its turn can be cancelled before it is sent", async () => {
    const { handler, state, invocations } = blockingHandler();
    await withRuntime({ handler }, async ({ url }) => {
      await using session = await new RuntimeUseClient({ url }).session();
      const first = new AbortController();
      const second = new AbortController();
      const running = session.query("block", { ...Q, signal: first.signal });
      const queued = session.query("quick never sent", { ...Q, signal: second.signal });
      await waitFor(() => state.started === 1, "the handler to start");
      second.abort();
      await assert.rejects(queued, CancelledError);
      first.abort();
      await assert.rejects(running, CancelledError);
      const next = await session.executeCommands([{ command: "echo still in step" }]);
      assert.equal(next.results[0]?.stdout, "still in step\n");
      assert.deepEqual(
        invocations.map((i) => i.userPrompt),
        ["block"],
      );
    });
  });

  test("a callback that throws cancels the request, its error is rethrown, and the session stays in step", async () => {
    const { handler, state } = blockingHandler();
    const talkative = recordingHandler(async (invocation, sender) => {
      if (invocation.userPrompt !== "talk") return handler(invocation, sender);
      await sender.sendAssistantMessage(["first words"]);
      await aborted(invocation.signal);
      state.abortedSignals++;
      return { type: "text", text: "unreachable" };
    }).handler;
    await withRuntime({ handler: talkative }, async ({ url }) => {
      await using session = await new RuntimeUseClient({ url }).session();
      const failure = new Error("my callback broke");
      await assert.rejects(
        session.query("talk", {
          ...Q,
          onAssistantMessage: () => {
            throw failure;
          },
        }),
        (error: unknown) => error === failure,
      );
      await waitFor(() => state.abortedSignals === 1, "the runtime to cancel the handler");
      const next = await session.query("quick after", Q);
      assert.deepEqual(next.data, { type: "text", text: "answer:quick after" });
    });
  });

  test("when the runtime never ends a cancelled request, drainTimeout closes the connection and the session says so", async () => {
    let requestArrived = false;
    const server = await startScriptedServer(async (peer) => {
      await expectFrame(peer, "command_execution_message");
      requestArrived = true;
      await expectFrame(peer, "cancel_message");
      // Ignore the cancel: never send a terminal.
    });
    try {
      const client = new RuntimeUseClient({ url: server.url, drainTimeout: 200 });
      const session = await client.session();
      const controller = new AbortController();
      const pending = session.executeCommands([{ command: "sleep 60" }], { signal: controller.signal });
      const peer = await server.peer(0);
      await waitFor(() => requestArrived, "the request to reach the server");
      controller.abort();
      await assert.rejects(pending, CancelledError);
      assert.equal(await peer.closed, 1000);
      assert.equal(session.state, "closed");
      await assert.rejects(session.executeCommands([{ command: "true" }]), (error: unknown) => {
        assert.ok(error instanceof SessionClosedError);
        assert.match(error.message, /did not end the cancelled request within drainTimeout \(200 ms\)/);
        return true;
      });
      assert.deepEqual(await session.close(), { artifacts: undefined });
    } finally {
      await server.close();
    }
  });
});
