import assert from "node:assert/strict";
import { mkdir, mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, test } from "node:test";
import type { AgentInputItem } from "@openai/agents";
import { RunConversation } from "../../src/conversations/conversation.js";
import type { JsonValue } from "../../src/conversations/log.js";
import { ConversationSessionStore } from "../../src/handlers/claude/session-store.js";
import { ConversationSession } from "../../src/handlers/openai/session.js";

/** A run's conversation over what earlier runs "saved" (no disk: the adapters only see the Conversation). */
function conversation(history: JsonValue[], state?: JsonValue): RunConversation {
  return new RunConversation("c1", { runs: 1, state, history: async () => structuredClone(history) });
}

const user = (text: string) => ({ role: "user", content: text }) as AgentInputItem;

describe("the OpenAI Agents SDK Session over a conversation", () => {
  test("items read back in order after earlier ones; limit keeps the most recent; new ones are what the run saves", async () => {
    const run = conversation([user("one") as unknown as JsonValue]);
    const session = new ConversationSession(run);
    assert.equal(await session.getSessionId(), "c1");
    await session.addItems([user("two"), user("three")]);
    assert.deepEqual(await session.getItems(), [user("one"), user("two"), user("three")]);
    assert.deepEqual(await session.getItems(2), [user("two"), user("three")]);
    assert.deepEqual(await session.getItems(0), []);
    assert.deepEqual(
      run.changes().append.map((text) => JSON.parse(text)),
      [user("two"), user("three")],
    );
    assert.equal(run.changes().replaceHistory, undefined);
  });

  test("popItem and clearSession (the runner's rollback and compaction) replace the history", async () => {
    const run = conversation([user("one"), user("two")] as unknown as JsonValue[]);
    const session = new ConversationSession(run);
    await session.addItems([user("three")]);
    assert.deepEqual(await session.popItem(), user("three"));
    assert.deepEqual(await session.popItem(), user("two"));
    assert.deepEqual(await session.getItems(), [user("one")]);
    assert.deepEqual(
      run.changes().replaceHistory?.map((text) => JSON.parse(text)),
      [user("one")],
    );
    await session.clearSession();
    assert.equal(await session.popItem(), undefined);
    assert.deepEqual(run.changes().replaceHistory, []);
  });
});

describe("the Claude Agent SDK SessionStore over a conversation", () => {
  const key = { projectKey: "-work", sessionId: "s-1" };

  test("transcript lines are kept per session and subagent path, and load returns null for an unknown one", async () => {
    const saved: JsonValue[] = [
      { session: "s-1", entry: { type: "user", uuid: "u1" } },
      { session: "s-1", subpath: "subagents/agent-a", entry: { type: "assistant", uuid: "a1" } },
      { session: "s-0", entry: { type: "user", uuid: "old" } },
      "not a transcript line",
    ];
    const run = conversation(saved);
    const store = new ConversationSessionStore(run);
    assert.deepEqual(await store.load(key), [{ type: "user", uuid: "u1" }]);
    assert.deepEqual(await store.load({ ...key, subpath: "subagents/agent-a" }), [{ type: "assistant", uuid: "a1" }]);
    assert.equal(await store.load({ ...key, sessionId: "s-9" }), null);
    assert.deepEqual(await store.listSubkeys(key), ["subagents/agent-a"]);
    await store.append({ ...key, subpath: "subagents/agent-b" }, [{ type: "assistant", uuid: "b1" }]);
    assert.deepEqual(
      run.changes().append.map((text) => JSON.parse(text)),
      [{ session: "s-1", subpath: "subagents/agent-b", entry: { type: "assistant", uuid: "b1" } }],
    );
  });

  test("the session to resume is the one the last run ended in; it is saved only when it changes", async () => {
    const fresh = new ConversationSessionStore(conversation([]));
    assert.equal(await fresh.resumeId(), undefined);
    const run = conversation([], { claude_session_id: "s-1" });
    const store = new ConversationSessionStore(run);
    assert.equal(await store.resumeId(), "s-1");
    await store.remember("s-1");
    assert.equal(run.changes().state, undefined, "unchanged: nothing to save");
    await store.remember("s-2");
    assert.deepEqual(JSON.parse(run.changes().state ?? "null"), { claude_session_id: "s-2" });
  });

  test("a first run's own transcript copy in the Claude configuration directory is removed, nothing else", async () => {
    const configDir = await mkdtemp(join(tmpdir(), "runtimeuse-claude-config-"));
    try {
      const project = join(configDir, "projects", "-work");
      await mkdir(join(project, "s-1", "subagents"), { recursive: true });
      await writeFile(join(project, "s-1.jsonl"), "{}\n");
      await writeFile(join(project, "other.jsonl"), "{}\n");
      const store = new ConversationSessionStore(conversation([]));
      await store.append(key, [{ type: "user" }]);
      await store.removeLocalCopy("s-1", { CLAUDE_CONFIG_DIR: configDir });
      assert.deepEqual(await readdir(project), ["other.jsonl"]);
      await store.removeLocalCopy("../other", { CLAUDE_CONFIG_DIR: configDir });
      assert.deepEqual(await readdir(project), ["other.jsonl"], "a session id that is a path is ignored");
    } finally {
      await rm(configDir, { recursive: true, force: true });
    }
  });
});
