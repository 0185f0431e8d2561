import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { echoHandler } from "../../runtimeuse/src/handlers/echo.js";
import { AgentRuntimeError, RuntimeUseClient } from "../src/node.js";
import { aborted, Q, withRuntime } from "./support/runtime.js";

test("conversationId: runs on one conversation continue each other over separate queries and a session", async () => {
  const stateDir = await mkdtemp(join(tmpdir(), "runtimeuse-client-conversations-"));
  try {
    await withRuntime({ handler: echoHandler, conversations: { stateDir } }, async ({ url }) => {
      const client = new RuntimeUseClient({ url });
      const turns = async (call: Promise<{ metadata: Record<string, unknown> }>) => (await call).metadata.turns;
      assert.equal(await turns(client.query("one", { ...Q, conversationId: "c1" })), 1);
      assert.equal(await turns(client.query("two", { ...Q, conversationId: "c1" })), 2);
      const session = await client.session();
      assert.equal(await turns(session.query("three", { ...Q, conversationId: "c1" })), 3);
      assert.equal(await turns(session.query("other", { ...Q, conversationId: "c2" })), 1);
      await session.close();
      assert.equal((await client.query("none", Q)).metadata.turns, undefined);
    });
  } finally {
    await rm(stateDir, { recursive: true, force: true });
  }
});

test("conversationId: a second query on a running conversation rejects with AgentRuntimeError code conversation_busy", async () => {
  const stateDir = await mkdtemp(join(tmpdir(), "runtimeuse-client-conversations-"));
  let release: () => void = () => {};
  const gate = new Promise<void>((resolve) => {
    release = resolve;
  });
  let started = 0;
  const handler = async (invocation: { signal: AbortSignal }) => {
    started++;
    await Promise.race([gate, aborted(invocation.signal)]);
    return { type: "text" as const, text: "done" };
  };
  try {
    await withRuntime({ handler, conversations: { stateDir } }, async ({ url }) => {
      const client = new RuntimeUseClient({ url });
      const first = client.query("long", { ...Q, conversationId: "c1" });
      while (started === 0) await new Promise((resolve) => setTimeout(resolve, 10));
      await assert.rejects(client.query("again", { ...Q, conversationId: "c1" }), (error: unknown) => {
        assert.ok(error instanceof AgentRuntimeError);
        assert.equal(error.code, "conversation_busy");
        return true;
      });
      release();
      assert.deepEqual((await first).data, { type: "text", text: "done" });
    });
  } finally {
    await rm(stateDir, { recursive: true, force: true });
  }
});
