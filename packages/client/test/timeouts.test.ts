import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { RuntimeUseClient, TimeoutError } from "../src/node.js";
import { aborted, Q, recordingHandler, waitFor, withRuntime } from "./support/runtime.js";
import { startScriptedServer } from "./support/scripted-server.js";

/**
 * "chatty" keeps sending assistant messages until cancelled (so only the
 * overall timeout can fire); "silent" sends nothing until cancelled (so the
 * idle timeout fires); anything else is answered at once.
 */
function slowHandler() {
  const state = { cancelled: 0 };
  const { handler } = recordingHandler(async (invocation, sender) => {
    if (invocation.userPrompt === "chatty") {
      while (!invocation.signal.aborted) {
        await sender.sendAssistantMessage(["still working"]);
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
    } else if (invocation.userPrompt === "silent") {
      await aborted(invocation.signal);
    } else {
      return { type: "text", text: `answer:${invocation.userPrompt}` };
    }
    state.cancelled++;
    return { type: "text", text: "too late" };
  });
  return { handler, state };
}

function isTimeout(which: string, ms: number) {
  return (error: unknown) => {
    assert.ok(error instanceof TimeoutError, `expected a TimeoutError, got ${String(error)}`);
    assert.equal(error.which, which);
    assert.equal(error.timeoutMs, ms);
    assert.match(error.message, new RegExp(`within ${which} \\(${ms} ms\\)`));
    return true;
  };
}

describe("timeouts", () => {
  test("timeout rejects with TimeoutError which=timeout even while messages keep arriving, and the runtime is cancelled", async () => {
    const { handler, state } = slowHandler();
    await withRuntime({ handler }, async ({ url }) => {
      let messages = 0;
      // In a session the timeout counts from the request, not from connecting.
      await using session = await new RuntimeUseClient({ url }).session();
      await assert.rejects(
        session.query("chatty", {
          ...Q,
          timeout: 2000,
          onAssistantMessage: () => {
            messages++;
          },
        }),
        isTimeout("timeout", 2000),
      );
      assert.ok(messages > 0, "messages were arriving when the timeout fired");
      await waitFor(() => state.cancelled === 1, "the runtime to cancel the handler");
    });
  });

  test("idleTimeout rejects with TimeoutError which=idleTimeout when the runtime goes quiet", async () => {
    const { handler, state } = slowHandler();
    await withRuntime({ handler, heartbeatIntervalMs: 60_000 }, async ({ url }) => {
      await assert.rejects(
        new RuntimeUseClient({ url }).executeCommands([{ command: "sleep 60" }], { idleTimeout: 200 }),
        isTimeout("idleTimeout", 200),
      );
      await assert.rejects(
        new RuntimeUseClient({ url }).query("silent", { ...Q, idleTimeout: 200 }),
        isTimeout("idleTimeout", 200),
      );
      await waitFor(() => state.cancelled === 1, "the runtime to cancel the handler");
    });
  });

  test("heartbeats keep a quiet request alive past idleTimeout", async () => {
    let longEnough: () => void = () => {};
    const reached = new Promise<void>((resolve) => {
      longEnough = resolve;
    });
    const { handler } = recordingHandler(async (invocation) => {
      await Promise.race([reached, aborted(invocation.signal)]);
      return { type: "text", text: "survived" };
    });
    await withRuntime({ handler, heartbeatIntervalMs: 25 }, async ({ url }) => {
      const result = await new RuntimeUseClient({ url }).query("wait", {
        ...Q,
        idleTimeout: 2000,
        onHeartbeat: (event) => {
          if (event.elapsedMs > 4500) longEnough();
        },
      });
      assert.deepEqual(result.data, { type: "text", text: "survived" });
    });
  });

  test("after a timeout in a session, the next request reads its own answer, not the abandoned one's", async () => {
    const { handler } = slowHandler();
    await withRuntime({ handler }, async ({ url }) => {
      await using session = await new RuntimeUseClient({ url }).session();
      await assert.rejects(session.query("chatty", { ...Q, timeout: 200 }), isTimeout("timeout", 200));
      await assert.rejects(session.query("silent", { ...Q, idleTimeout: 200 }), isTimeout("idleTimeout", 200));
      const next = await session.query("next", Q);
      assert.deepEqual(next.data, { type: "text", text: "answer:next" });
    });
  });

  test("assistantCallbackTimeout cancels the request when onAssistantMessage does not return in time", async () => {
    const { handler, state } = slowHandler();
    await withRuntime({ handler }, async ({ url }) => {
      await using session = await new RuntimeUseClient({ url }).session();
      await assert.rejects(
        session.query("chatty", {
          ...Q,
          assistantCallbackTimeout: 200,
          onAssistantMessage: () => new Promise<void>(() => {}),
        }),
        isTimeout("assistantCallbackTimeout", 200),
      );
      await waitFor(() => state.cancelled === 1, "the runtime to cancel the handler");
      assert.deepEqual((await session.query("after", Q)).data, { type: "text", text: "answer:after" });
    });
  });

  test("the overall timeout also bounds a callback that never returns", async () => {
    const { handler } = slowHandler();
    await withRuntime({ handler }, async ({ url }) => {
      await assert.rejects(
        new RuntimeUseClient({ url }).query("chatty", {
          ...Q,
          timeout: 300,
          onAssistantMessage: () => new Promise<void>(() => {}),
        }),
        isTimeout("timeout", 300),
      );
    });
  });

  test("connectTimeout rejects with TimeoutError which=connectTimeout when the handshake never completes", async () => {
    const server = await startScriptedServer(() => {}, { hangUpgrade: true });
    try {
      const client = new RuntimeUseClient({ url: server.url, connectTimeout: 200 });
      await assert.rejects(client.executeCommands([{ command: "true" }]), isTimeout("connectTimeout", 200));
      await assert.rejects(client.session(), isTimeout("connectTimeout", 200));
      // A shorter overall timeout wins over connectTimeout, and is reported as itself.
      await assert.rejects(
        new RuntimeUseClient({ url: server.url }).executeCommands([{ command: "true" }], { timeout: 150 }),
        isTimeout("timeout", 150),
      );
    } finally {
      await server.close();
    }
  });

  test("a timeout option that is not a positive number is refused before connecting", async () => {
    const client = new RuntimeUseClient({ url: "ws://127.0.0.1:9" });
    for (const [name, value] of [
      ["timeout", 0],
      ["idleTimeout", -5],
      ["timeout", Number.NaN],
      ["artifactUploadCallbackTimeout", "10"],
    ] as const) {
      await assert.rejects(
        client.executeCommands([{ command: "true" }], { [name]: value }),
        new RegExp(`^InvalidOptionsError: ${name}: expected a positive number of milliseconds`),
      );
    }
    assert.throws(() => new RuntimeUseClient({ url: "ws://x", closeTimeout: -1 }), /closeTimeout: expected a positive/);
  });
});
