import assert from "node:assert/strict";
import { appendFile, mkdir, mkdtemp, readdir, readFile, rm, stat, utimes, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { ErrorCode } from "@runtimeuse/protocol";
import { RunConversation } from "../../src/conversations/conversation.js";
import { ConversationError } from "../../src/conversations/errors.js";
import { defaultStateDir } from "../../src/conversations/settings.js";
import { ConversationStore } from "../../src/conversations/store.js";

let root: string;
let counter = 0;

before(async () => {
  root = await mkdtemp(join(tmpdir(), "runtimeuse-store-"));
});
after(async () => {
  await rm(root, { recursive: true, force: true });
});

function freshStore(settings: { maxBytes?: number; ttlMs?: number } = {}): ConversationStore {
  return new ConversationStore({ stateDir: join(root, `state-${++counter}`), ...settings });
}

/** One run: acquire, load, let `change` act on the conversation, commit, release. */
async function run(store: ConversationStore, id: string, change: (c: RunConversation) => void | Promise<void>) {
  const lease = store.acquire(id);
  try {
    const conversation = new RunConversation(id, await lease.load());
    await change(conversation);
    await lease.commit(conversation.changes());
    return conversation;
  } finally {
    lease.release();
  }
}

async function opened(store: ConversationStore, id: string): Promise<RunConversation> {
  const lease = store.acquire(id);
  try {
    return new RunConversation(id, await lease.load());
  } finally {
    lease.release();
  }
}

function rejectsWith(code: string) {
  return (error: unknown) => error instanceof ConversationError && error.code === code;
}

describe("conversation store on disk", () => {
  test("the first save creates <stateDir>/conversations/<id>.jsonl, mode 0600, its directories 0700, no temp file left", async () => {
    const store = freshStore();
    await run(store, "c1", (c) => c.append({ prompt: "hi" }));
    const path = join(store.settings.stateDir, "conversations", "c1.jsonl");
    assert.equal(store.pathOf("c1"), path);
    assert.equal((await stat(path)).mode & 0o777, 0o600);
    assert.equal((await stat(join(store.settings.stateDir, "conversations"))).mode & 0o777, 0o700);
    assert.equal((await stat(store.settings.stateDir)).mode & 0o777, 0o700);
    assert.deepEqual(await readdir(store.directory), ["c1.jsonl"]);
  });

  test("later saves append one line to the same file; a fresh store (a restarted runtime) reads every run back", async () => {
    const store = freshStore();
    await run(store, "c1", (c) => {
      c.append({ prompt: "one" });
      c.save({ step: 1 });
    });
    const inode = (await stat(store.pathOf("c1"))).ino;
    await run(store, "c1", (c) => c.append({ prompt: "two" }));
    await run(store, "c1", (c) => c.save({ step: 3 }));
    assert.equal((await stat(store.pathOf("c1"))).ino, inode, "appended in place, not rewritten");
    assert.equal((await readFile(store.pathOf("c1"), "utf8")).trimEnd().split("\n").length, 4, "header + 3 runs");

    const restarted = new ConversationStore({ stateDir: store.settings.stateDir });
    const conversation = await opened(restarted, "c1");
    assert.equal(conversation.runs, 3);
    assert.deepEqual(await conversation.history(), [{ prompt: "one" }, { prompt: "two" }]);
    assert.deepEqual(await conversation.load(), { step: 3 });
  });

  test("a save cut short by a crash is ignored on load, and the next save cuts it off before appending", async () => {
    const store = freshStore();
    await run(store, "c1", (c) => c.append("one"));
    await appendFile(store.pathOf("c1"), '{"run":2,"at":"2025-01-01T00:00:00.000Z","append":["half-writ');
    const restarted = new ConversationStore({ stateDir: store.settings.stateDir });
    await run(restarted, "c1", async (c) => {
      assert.equal(c.runs, 1);
      assert.deepEqual(await c.history(), ["one"]);
      c.append("two");
    });
    const text = await readFile(store.pathOf("c1"), "utf8");
    assert.doesNotMatch(text, /half-writ/);
    const again = await opened(new ConversationStore({ stateDir: store.settings.stateDir }), "c1");
    assert.equal(again.runs, 2);
    assert.deepEqual(await again.history(), ["one", "two"]);
  });

  test("replaceHistory rewrites the file atomically (a new file renamed over the old one)", async () => {
    const store = freshStore();
    await run(store, "c1", (c) => c.append("a", "b", "c"));
    const inode = (await stat(store.pathOf("c1"))).ino;
    await run(store, "c1", (c) => {
      c.replaceHistory(["b"]);
      c.append("d");
    });
    assert.notEqual((await stat(store.pathOf("c1"))).ino, inode);
    assert.equal((await stat(store.pathOf("c1"))).mode & 0o777, 0o600);
    const conversation = await opened(new ConversationStore({ stateDir: store.settings.stateDir }), "c1");
    assert.equal(conversation.runs, 2);
    assert.deepEqual(await conversation.history(), ["b", "d"]);
    assert.deepEqual(await readdir(store.directory), ["c1.jsonl"]);
  });

  test("state values replaced run after run are reclaimed by a rewrite once they outweigh the rest", async () => {
    const store = freshStore();
    const big = (n: number) => ({ n, pad: "s".repeat(300_000) });
    await run(store, "c1", (c) => {
      c.append("kept");
      c.save(big(1));
    });
    const sizes: number[] = [];
    for (let n = 2; n <= 5; n++) {
      await run(store, "c1", (c) => c.save(big(n)));
      sizes.push((await stat(store.pathOf("c1"))).size);
    }
    // Runs 2-4 append (the file grows by a state each); run 5 finds 1.2 MB replaced and rewrites.
    assert.ok(sizes[2] !== undefined && sizes[2] > 1_200_000, `grew to ${sizes[2]}`);
    assert.ok(sizes[3] !== undefined && sizes[3] < 400_000, `rewritten to ${sizes[3]}`);
    const conversation = await opened(new ConversationStore({ stateDir: store.settings.stateDir }), "c1");
    assert.equal(conversation.runs, 5);
    assert.deepEqual(await conversation.history(), ["kept"]);
    assert.equal(((await conversation.load()) as { n: number }).n, 5);
  });

  test("a conversation runs once at a time: a second acquire is refused with conversation_busy until release", async () => {
    const store = freshStore();
    const other = new ConversationStore({ stateDir: store.settings.stateDir });
    const lease = store.acquire("c1");
    assert.throws(() => other.acquire("c1"), rejectsWith(ErrorCode.ConversationBusy), "another store, same file");
    other.acquire("c2").release();
    lease.release();
    other.acquire("c1").release();
  });

  test("a release during a save takes effect once the save is written", async () => {
    const store = freshStore();
    const lease = store.acquire("c1");
    const conversation = new RunConversation("c1", await lease.load());
    conversation.append("x".repeat(100_000));
    const saving = lease.commit(conversation.changes());
    lease.release();
    assert.throws(() => store.acquire("c1"), rejectsWith(ErrorCode.ConversationBusy));
    await saving;
    await new Promise((resolve) => setImmediate(resolve));
    store.acquire("c1").release();
  });

  test("ids that could name another path are refused before any file is touched", () => {
    const store = freshStore();
    for (const id of ["../c1", "a/b", "..", ".hidden", "", "a".repeat(129), "c1\u0000"]) {
      assert.throws(() => store.acquire(id), rejectsWith(ErrorCode.InvalidConversationId), JSON.stringify(id));
    }
  });

  test("a file over the size limit is refused with conversation_too_large before it is read", async () => {
    const store = freshStore({ maxBytes: 1000 });
    await mkdir(store.directory, { recursive: true });
    // Not a conversation file at all: had it been read, it would be conversation_unreadable.
    await writeFile(store.pathOf("big"), "x".repeat(1001));
    const lease = store.acquire("big");
    await assert.rejects(lease.load(), (error: unknown) => {
      assert.ok(error instanceof ConversationError);
      assert.equal(error.code, ErrorCode.ConversationTooLarge);
      assert.deepEqual(error.metadata, { size_bytes: 1001, limit_bytes: 1000 });
      return true;
    });
    lease.release();
  });

  test("a file that is not a conversation is refused with conversation_unreadable", async () => {
    const store = freshStore();
    await mkdir(store.directory, { recursive: true });
    await writeFile(store.pathOf("junk"), "hello\n");
    const lease = store.acquire("junk");
    await assert.rejects(lease.load(), rejectsWith(ErrorCode.ConversationUnreadable));
    lease.release();
  });

  test("a file replaced on disk between runs (a download) is read again, not served from memory", async () => {
    const store = freshStore();
    const elsewhere = freshStore();
    await run(store, "c1", (c) => c.append("here"));
    for (let i = 0; i < 3; i++) await run(elsewhere, "c1", (c) => c.append(`there-${i}`));
    await writeFile(store.pathOf("c1"), await readFile(elsewhere.pathOf("c1")));
    const conversation = await opened(store, "c1");
    assert.equal(conversation.runs, 3);
    assert.deepEqual(await conversation.history(), ["there-0", "there-1", "there-2"]);
  });

  test("a file changed on disk while a run holds it is not overwritten: the save fails with conversation_store_failed", async () => {
    const store = freshStore();
    await run(store, "c1", (c) => c.append("one"));
    const lease = store.acquire("c1");
    const conversation = new RunConversation("c1", await lease.load());
    conversation.append("mine");
    await appendFile(store.pathOf("c1"), `${JSON.stringify({ run: 2, append: ["theirs"] })}\n`);
    await assert.rejects(lease.commit(conversation.changes()), (error: unknown) => {
      assert.ok(error instanceof ConversationError);
      assert.equal(error.code, ErrorCode.ConversationStoreFailed);
      assert.equal(error.metadata.operation, "save");
      assert.match(error.message, /changed on disk/);
      return true;
    });
    lease.release();
    assert.doesNotMatch(await readFile(store.pathOf("c1"), "utf8"), /mine/);
  });

  test("disk failures end as conversation_store_failed, naming whether loading or saving failed", async () => {
    const blocker = join(root, `file-${++counter}`);
    await writeFile(blocker, "not a directory");
    const unusable = new ConversationStore({ stateDir: join(blocker, "state") });
    const first = unusable.acquire("c1");
    await assert.rejects(first.load(), (error: unknown) => {
      assert.ok(error instanceof ConversationError);
      assert.equal(error.code, ErrorCode.ConversationStoreFailed);
      assert.equal(error.metadata.operation, "load");
      return true;
    });
    first.release();

    const store = freshStore();
    const lease = store.acquire("c1");
    const conversation = new RunConversation("c1", await lease.load());
    conversation.append("x");
    // The conversations directory cannot be created once a file sits where it goes.
    await mkdir(store.settings.stateDir, { recursive: true });
    await writeFile(store.directory, "in the way");
    await assert.rejects(lease.commit(conversation.changes()), (error: unknown) => {
      assert.ok(error instanceof ConversationError);
      assert.equal(error.code, ErrorCode.ConversationStoreFailed);
      assert.equal(error.metadata.operation, "save");
      assert.match(error.message, /^conversation c1 could not be saved: /);
      return true;
    });
    lease.release();
  });

  test("pruning deletes conversations older than the TTL and stale temp files, keeping fresh and held ones", async () => {
    const store = freshStore({ ttlMs: 60_000 });
    for (const id of ["old", "fresh", "held"]) await run(store, id, (c) => c.append(id));
    const now = Date.now();
    const old = new Date(now - 120_000);
    await utimes(store.pathOf("old"), old, old);
    await utimes(store.pathOf("held"), old, old);
    await writeFile(join(store.directory, ".tmp-fresh.jsonl.abc"), "stale");
    await utimes(join(store.directory, ".tmp-fresh.jsonl.abc"), old, old);
    await writeFile(join(store.directory, "notes.txt"), "not ours");
    await utimes(join(store.directory, "notes.txt"), old, old);
    const lease = store.acquire("held");
    assert.deepEqual(await store.prune(now), { removed: 2, failed: 0 });
    lease.release();
    assert.deepEqual((await readdir(store.directory)).sort(), ["fresh.jsonl", "held.jsonl", "notes.txt"]);
    assert.equal((await opened(store, "old")).runs, 0, "a pruned conversation starts again empty");
  });

  test("a TTL of 0 keeps every conversation; pruning a state directory that does not exist is a no-op", async () => {
    const store = freshStore({ ttlMs: 0 });
    await run(store, "c1", (c) => c.append("x"));
    const long = new Date(0);
    await utimes(store.pathOf("c1"), long, long);
    assert.deepEqual(await store.prune(), { removed: 0, failed: 0 });
    assert.deepEqual(await freshStore().prune(), { removed: 0, failed: 0 });
  });

  test("values are saved as they were when handed over; what JSON cannot hold is refused at the call", async () => {
    const store = freshStore();
    await run(store, "c1", (c) => {
      const entry = { n: 1 };
      c.append(entry);
      entry.n = 2;
      assert.throws(() => c.save(undefined), /not JSON-serialisable/);
      assert.throws(() => c.append(1n), /not JSON-serialisable/);
      const cycle: Record<string, unknown> = {};
      cycle.self = cycle;
      assert.throws(() => c.save(cycle), /not JSON-serialisable/);
    });
    assert.deepEqual(await (await opened(store, "c1")).history(), [{ n: 1 }]);
  });

  test("the default state directory is $XDG_STATE_HOME/runtimeuse when absolute, else ~/.local/state/runtimeuse", () => {
    assert.equal(defaultStateDir({ XDG_STATE_HOME: "/var/state" }), "/var/state/runtimeuse");
    assert.match(defaultStateDir({ XDG_STATE_HOME: "relative/state" }), /\/\.local\/state\/runtimeuse$/);
    assert.match(defaultStateDir({}), /\/\.local\/state\/runtimeuse$/);
  });
});
