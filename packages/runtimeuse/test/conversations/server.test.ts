import assert from "node:assert/strict";
import { mkdir, mkdtemp, readdir, readFile, rm, utimes, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import type { AgentHandler } from "../../src/handler.js";
import { echoHandler } from "../../src/handlers/echo.js";
import { type Frame, invocation, RawClient, waitFor } from "../support/client.js";
import { startTestServer, type TestServer } from "../support/server.js";

let root: string;
let counter = 0;
const servers: TestServer[] = [];
const clients: RawClient[] = [];

before(async () => {
  root = await mkdtemp(join(tmpdir(), "runtimeuse-conversations-"));
});
after(async () => {
  await Promise.all(clients.map((client) => client.close()));
  await Promise.all(servers.map((server) => server.close()));
  await rm(root, { recursive: true, force: true });
});

async function serve(
  handler: AgentHandler,
  conversations: { maxBytes?: number; ttlMs?: number; stateDir?: string } = {},
) {
  const stateDir = conversations.stateDir ?? join(root, `state-${++counter}`);
  const server = await startTestServer({ handler, conversations: { ...conversations, stateDir } });
  servers.push(server);
  return { server, stateDir, connect: () => connect(server) };
}

async function connect(server: TestServer): Promise<RawClient> {
  const client = await RawClient.connect(server.url);
  clients.push(client);
  return client;
}

async function ask(client: RawClient, fields: Record<string, unknown>): Promise<{ frames: Frame[]; terminal: Frame }> {
  client.send(invocation(fields));
  return client.untilTerminal(30_000);
}

const metadataOf = (frame: Frame) => frame.metadata as Record<string, unknown>;

/** A handler that keeps going until `release()`, recording each conversation it was given. */
function gatedHandler() {
  const waiting: Array<() => void> = [];
  let started = 0;
  const handler: AgentHandler = {
    async run(invocation) {
      started++;
      invocation.conversation?.append({ prompt: invocation.userPrompt });
      await new Promise<void>((resolve) => {
        waiting.push(resolve);
        invocation.signal.addEventListener("abort", () => setTimeout(resolve, 300), { once: true });
      });
      return { type: "text", text: `runs before: ${invocation.conversation?.runs}` };
    },
  };
  return {
    handler,
    started: () => started,
    release: () => {
      for (const resolve of waiting.splice(0)) resolve();
    },
  };
}

/** echo calls no model: its usage is zeros. */
const ECHO_USAGE = { input_tokens: 0, output_tokens: 0, cache_read_tokens: 0, cache_write_tokens: 0, model_calls: 0 };

describe("conversations through the server (echo and custom handlers)", () => {
  test("echo reports each run's number in its conversation; the text and stream stay as without one", async () => {
    const { connect } = await serve(echoHandler);
    const client = await connect();
    for (const turn of [1, 2, 3]) {
      const { frames, terminal } = await ask(client, { user_prompt: `p${turn}`, conversation_id: "c1" });
      assert.equal(terminal.message_type, "result_message", JSON.stringify(terminal));
      assert.deepEqual(terminal.data, { type: "text", text: `p${turn}` });
      assert.deepEqual(metadataOf(terminal), { agent: "echo", turns: turn, usage: ECHO_USAGE });
      assert.deepEqual(frames[0], { message_type: "assistant_message", text_blocks: [`p${turn}`] });
    }
    const other = await ask(client, { user_prompt: "x", conversation_id: "c2" });
    assert.equal(metadataOf(other.terminal).turns, 1, "another conversation starts at 1");
  });

  test("without conversation_id nothing changes and nothing is written to the state directory", async () => {
    const { connect, stateDir } = await serve(echoHandler);
    const client = await connect();
    const { terminal } = await ask(client, { user_prompt: "plain" });
    assert.deepEqual(metadataOf(terminal), { agent: "echo", usage: ECHO_USAGE });
    await assert.rejects(readdir(stateDir), { code: "ENOENT" });
  });

  test("a conversation continues on another connection, and on a new server over the same state directory", async () => {
    const first = await serve(echoHandler);
    await ask(await first.connect(), { user_prompt: "one", conversation_id: "c1" });
    const { terminal } = await ask(await first.connect(), { user_prompt: "two", conversation_id: "c1" });
    assert.equal(metadataOf(terminal).turns, 2);
    const restarted = await serve(echoHandler, { stateDir: first.stateDir });
    const third = await ask(await restarted.connect(), { user_prompt: "three", conversation_id: "c1" });
    assert.equal(metadataOf(third.terminal).turns, 3);
    const lines = (await readFile(join(first.stateDir, "conversations", "c1.jsonl"), "utf8")).trimEnd().split("\n");
    assert.deepEqual(
      lines.slice(1).map((line) => (JSON.parse(line) as { append: unknown[] }).append),
      [[{ prompt: "one" }], [{ prompt: "two" }], [{ prompt: "three" }]],
    );
  });

  test("a second request on a running conversation, from another connection, is refused at once with conversation_busy", async () => {
    const gate = gatedHandler();
    const { connect } = await serve(gate.handler);
    const a = await connect();
    const b = await connect();
    a.send(invocation({ user_prompt: "long", conversation_id: "c1" }));
    await waitFor(() => gate.started() === 1, 20_000, "the first run to start");
    const refused = await ask(b, { user_prompt: "too soon", conversation_id: "c1" });
    assert.equal(refused.terminal.message_type, "error_message");
    assert.equal(metadataOf(refused.terminal).code, "conversation_busy");
    assert.match(String(refused.terminal.error), /conversation c1 is busy/);
    assert.equal(gate.started(), 1, "the refused request never reached the handler");

    // Another conversation is free meanwhile; the running one is not disturbed.
    b.send(invocation({ user_prompt: "elsewhere", conversation_id: "c2" }));
    await waitFor(() => gate.started() === 2, 20_000, "the run on c2 to start");
    gate.release();
    assert.equal((await b.untilTerminal(30_000)).terminal.message_type, "result_message");
    const first = await a.untilTerminal(30_000);
    assert.deepEqual(first.terminal.data, { type: "text", text: "runs before: 0" });

    const after = ask(b, { user_prompt: "now", conversation_id: "c1" });
    await waitFor(() => gate.started() === 3, 20_000, "the next run on c1 to start");
    gate.release();
    assert.deepEqual((await after).terminal.data, { type: "text", text: "runs before: 1" });
  });

  test("a cancelled run saves nothing and lets go of its conversation at its terminal, while its handler winds down", async () => {
    const gate = gatedHandler();
    const { connect } = await serve(gate.handler);
    const a = await connect();
    a.send(invocation({ user_prompt: "cancel me", conversation_id: "c1" }));
    await waitFor(() => gate.started() === 1, 20_000, "the run to start");
    a.send({ message_type: "cancel_message" });
    const cancelled = await a.untilTerminal(30_000);
    assert.equal(metadataOf(cancelled.terminal).code, "cancelled");
    // The handler still runs for 300 ms after the abort; the conversation is free already.
    const next = ask(await connect(), { user_prompt: "again", conversation_id: "c1" });
    await waitFor(() => gate.started() === 2, 20_000, "the next run to start");
    gate.release();
    assert.deepEqual((await next).terminal.data, { type: "text", text: "runs before: 0" });
  });

  test("a run that fails (handler error, failed post-agent command) leaves the conversation as before it", async () => {
    let fail: "throw" | "none" = "none";
    const handler: AgentHandler = {
      async run(invocation) {
        invocation.conversation?.append(invocation.userPrompt);
        invocation.conversation?.save({ last: invocation.userPrompt });
        if (fail === "throw") throw new Error("agent broke");
        const history = await invocation.conversation?.history();
        return { type: "text", text: JSON.stringify({ history, state: await invocation.conversation?.load() }) };
      },
    };
    const { connect } = await serve(handler);
    const client = await connect();
    await ask(client, { user_prompt: "kept", conversation_id: "c1" });
    fail = "throw";
    const thrown = await ask(client, { user_prompt: "lost-1", conversation_id: "c1" });
    assert.equal(metadataOf(thrown.terminal).code, "handler_error");
    fail = "none";
    const failedCommand = await ask(client, {
      user_prompt: "lost-2",
      conversation_id: "c1",
      post_agent_invocation_commands: [{ command: "exit 3" }],
    });
    assert.equal(metadataOf(failedCommand.terminal).code, "command_failed");
    const { terminal } = await ask(client, { user_prompt: "seen", conversation_id: "c1" });
    assert.deepEqual(JSON.parse(String((terminal.data as { text: string }).text)), {
      history: ["kept", "seen"],
      state: { last: "seen" },
    });
  });

  test("a custom handler keeps its own history and state across runs, and can replace the history", async () => {
    const handler: AgentHandler = {
      async run(invocation) {
        const conversation = invocation.conversation;
        if (!conversation) return { type: "text", text: "no conversation" };
        const state = ((await conversation.load()) as { count?: number } | undefined) ?? {};
        if (invocation.userPrompt === "forget") conversation.replaceHistory([]);
        else conversation.append({ role: "user", text: invocation.userPrompt });
        conversation.save({ count: (state.count ?? 0) + 1 });
        const history = await conversation.history();
        return {
          type: "structured_output",
          structuredOutput: { id: conversation.id, runs: conversation.runs, count: state.count ?? 0, history },
        };
      },
    };
    const { connect } = await serve(handler);
    const client = await connect();
    const outputs: unknown[] = [];
    for (const prompt of ["a", "b", "forget", "c"]) {
      const { terminal } = await ask(client, { user_prompt: prompt, conversation_id: "mine" });
      outputs.push((terminal.data as { structured_output: unknown }).structured_output);
    }
    assert.deepEqual(outputs, [
      { id: "mine", runs: 0, count: 0, history: [{ role: "user", text: "a" }] },
      {
        id: "mine",
        runs: 1,
        count: 1,
        history: [
          { role: "user", text: "a" },
          { role: "user", text: "b" },
        ],
      },
      { id: "mine", runs: 2, count: 2, history: [] },
      { id: "mine", runs: 3, count: 3, history: [{ role: "user", text: "c" }] },
    ]);
    const { terminal } = await ask(client, { user_prompt: "x" });
    assert.deepEqual(terminal.data, { type: "text", text: "no conversation" }, "absent without conversation_id");
  });

  test("a bad conversation_id is refused with invalid_conversation_id naming the field; the connection stays usable", async () => {
    const { connect } = await serve(echoHandler);
    const client = await connect();
    for (const id of ["../../etc/passwd", "", ".x", 42]) {
      const { terminal } = await ask(client, { conversation_id: id });
      assert.equal(terminal.message_type, "error_message");
      assert.equal(metadataOf(terminal).code, "invalid_conversation_id", JSON.stringify(id));
      assert.equal(metadataOf(terminal).field, "conversation_id");
    }
    const { terminal } = await ask(client, { conversation_id: "fine" });
    assert.equal(terminal.message_type, "result_message");
  });

  test("a conversation over --conversation-max-bytes is refused with conversation_too_large; a damaged one with conversation_unreadable", async () => {
    let called = 0;
    const handler: AgentHandler = {
      async run(invocation) {
        called++;
        invocation.conversation?.append("x".repeat(600));
        return { type: "text", text: "ok" };
      },
    };
    const { connect, stateDir } = await serve(handler, { maxBytes: 1000 });
    const client = await connect();
    assert.equal((await ask(client, { conversation_id: "big" })).terminal.message_type, "result_message");
    assert.equal((await ask(client, { conversation_id: "big" })).terminal.message_type, "result_message");
    const refused = await ask(client, { conversation_id: "big" });
    assert.equal(refused.terminal.message_type, "error_message");
    assert.equal(metadataOf(refused.terminal).code, "conversation_too_large");
    assert.equal(metadataOf(refused.terminal).limit_bytes, 1000);
    assert.ok(Number(metadataOf(refused.terminal).size_bytes) > 1000);
    assert.equal(called, 2, "the agent did not run on the refused conversation");

    await writeFile(join(stateDir, "conversations", "bad.jsonl"), '{"runtimeuse_conversation":1}\n{oops\n{"run":2}\n');
    const damaged = await ask(client, { conversation_id: "bad" });
    assert.equal(metadataOf(damaged.terminal).code, "conversation_unreadable");
    assert.match(String(damaged.terminal.error), /line 2: not JSON/);
    assert.equal(called, 2);
  });

  test("starting the server deletes conversations older than the TTL and keeps the rest", async () => {
    const stateDir = join(root, `state-${++counter}`);
    const dir = join(stateDir, "conversations");
    await mkdir(dir, { recursive: true });
    const header = '{"runtimeuse_conversation":1}\n{"run":1,"append":["x"]}\n';
    await writeFile(join(dir, "old.jsonl"), header);
    await writeFile(join(dir, "new.jsonl"), header);
    const old = new Date(Date.now() - 3 * 3_600_000);
    await utimes(join(dir, "old.jsonl"), old, old);
    const { server, connect } = await serve(echoHandler, { stateDir, ttlMs: 3_600_000 });
    assert.deepEqual(await readdir(dir), ["new.jsonl"]);
    assert.ok(
      server.logs.some((line) => /pruned expired conversations .*removed=1/.test(line)),
      server.logs.join("\n"),
    );
    const { terminal } = await ask(await connect(), { conversation_id: "new" });
    assert.equal(metadataOf(terminal).turns, 2);
  });
});
