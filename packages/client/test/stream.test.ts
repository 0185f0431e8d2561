import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { AgentRuntimeError, CancelledError, RuntimeUseClient, type StreamEvent } from "../src/node.js";

import { aborted, Q, recordingHandler, waitFor, withRuntime } from "./support/runtime.js";

describe("stream()", () => {
  test("yields assistant messages, command output and heartbeats in order, then the result, then ends", async () => {
    let heartbeatSeen: () => void = () => {};
    const heartbeat = new Promise<void>((resolve) => {
      heartbeatSeen = resolve;
    });
    const { handler } = recordingHandler(async (invocation, sender) => {
      await sender.sendAssistantMessage(["one"]);
      await Promise.race([heartbeat, aborted(invocation.signal)]);
      await sender.sendAssistantMessage(["two", "three"]);
      return { type: "text", text: "final", metadata: { steps: 2 } };
    });
    await withRuntime({ handler, heartbeatIntervalMs: 20 }, async ({ url }) => {
      const events: StreamEvent[] = [];
      for await (const event of new RuntimeUseClient({ url }).stream("go", {
        ...Q,
        preAgentInvocationCommands: [{ command: "echo prepared" }],
      })) {
        events.push(event);
        if (event.type === "heartbeat") heartbeatSeen();
      }
      const heartbeats = events.filter((e) => e.type === "heartbeat");
      assert.ok(heartbeats.length >= 1);
      assert.ok(heartbeats.every((e) => e.type === "heartbeat" && e.phase.length > 0));
      assert.deepEqual(
        events.filter((e) => e.type !== "heartbeat"),
        [
          { type: "command_output", stream: "stdout", text: "prepared\n", command: "echo prepared" },
          { type: "assistant_message", textBlocks: ["one"] },
          { type: "assistant_message", textBlocks: ["two", "three"] },
          { type: "result", data: { type: "text", text: "final" }, metadata: { steps: 2 } },
        ],
      );
    });
  });

  test("nothing is sent until the iteration starts", async () => {
    const { handler, invocations } = recordingHandler();
    await withRuntime({ handler }, async ({ url, logs }) => {
      const client = new RuntimeUseClient({ url });
      const stream = client.stream("later", Q);
      await client.executeCommands([{ command: "true" }]);
      assert.equal(logs.filter((line) => line.startsWith("INFO connection open")).length, 1);
      assert.equal(invocations.length, 0);
      const first = await stream.next();
      assert.deepEqual(first.value, { type: "result", data: { type: "text", text: "later" }, metadata: {} });
      assert.equal((await stream.next()).done, true);
    });
  });

  test("leaving the loop early cancels the request, and the session's next request gets its own answer", async () => {
    const state = { cancelled: 0 };
    const { handler } = recordingHandler(async (invocation, sender) => {
      if (invocation.userPrompt === "next") return { type: "text", text: "next answer" };
      while (!invocation.signal.aborted) {
        await sender.sendAssistantMessage(["tick"]);
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
      state.cancelled++;
      return { type: "text", text: "never delivered" };
    });
    await withRuntime({ handler }, async ({ url }) => {
      await using session = await new RuntimeUseClient({ url }).session();
      let seen = 0;
      for await (const event of session.stream("endless", Q)) {
        assert.equal(event.type, "assistant_message");
        if (++seen === 3) break;
      }
      await waitFor(() => state.cancelled === 1, "the runtime to cancel the handler");
      assert.deepEqual((await session.query("next", Q)).data, { type: "text", text: "next answer" });
    });
  });

  test("a runtime error ends the iteration by throwing AgentRuntimeError, after the events before it", async () => {
    const { handler } = recordingHandler(async (_invocation, sender) => {
      await sender.sendAssistantMessage(["partial"]);
      throw new Error("agent crashed");
    });
    await withRuntime({ handler }, async ({ url }) => {
      const events: StreamEvent[] = [];
      await assert.rejects(
        async () => {
          for await (const event of new RuntimeUseClient({ url }).stream("go", Q)) events.push(event);
        },
        (error: unknown) => error instanceof AgentRuntimeError && error.error === "agent crashed",
      );
      assert.deepEqual(events, [{ type: "assistant_message", textBlocks: ["partial"] }]);
    });
  });

  test("client.abort() and the signal option cancel a stream: the iterator throws CancelledError", async () => {
    const { handler } = recordingHandler(async (invocation, sender) => {
      await sender.sendAssistantMessage(["started"]);
      await aborted(invocation.signal);
      return { type: "text", text: "never" };
    });
    await withRuntime({ handler }, async ({ url }) => {
      const client = new RuntimeUseClient({ url });
      await assert.rejects(async () => {
        for await (const event of client.stream("a", Q)) if (event.type === "assistant_message") client.abort();
      }, CancelledError);
      const controller = new AbortController();
      await assert.rejects(async () => {
        for await (const event of client.stream("b", { ...Q, signal: controller.signal })) {
          if (event.type === "assistant_message") controller.abort();
        }
      }, CancelledError);
    });
  });
});
