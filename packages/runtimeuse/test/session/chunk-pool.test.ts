import assert from "node:assert/strict";
import { test } from "node:test";
import { ChunkPool } from "../../src/session/chunk-pool.js";
import { FrameQueue, type Run } from "../../src/session/frame-queue.js";
import { until, wsPair } from "./support/ws-pair.js";

test("a pool hands out chunks of its size, keeps at most its limit of free ones, and takes back no other size", () => {
  const pool = new ChunkPool(1024, 2);
  const chunks = [pool.take(), pool.take(), pool.take()];
  for (const chunk of chunks) assert.equal(chunk.length, 1024);
  for (const chunk of chunks) pool.give(chunk);
  assert.equal(pool.freeChunks, 2);
  pool.give(Buffer.alloc(512));
  assert.equal(pool.freeChunks, 2);
  assert.ok(chunks.includes(pool.take()), "a free chunk is handed out again");
});

test("a pooled chunk is never reused while a run of it is unwritten on a socket whose peer stopped reading, and the peer gets every frame intact", async () => {
  const pair = await wsPair();
  try {
    const pool = new ChunkPool();
    const queue = new FrameQueue(pool);
    /** Runs handed to the socket whose write callback has not come yet. */
    const unwritten = new Set<Run>();
    const texts: string[] = [];
    const used = new Set<ArrayBufferLike>();
    let reused = 0;
    /** Queues `count` frames and writes them; returns false once the socket buffers what the kernel would not take. */
    const sendFrames = (count: number): boolean => {
      for (let i = 0; i < count; i++) {
        const text = JSON.stringify({
          message_type: "assistant_message",
          text_blocks: [`${texts.length} ${"x".repeat(180)}`],
        });
        texts.push(text);
        queue.push(text);
      }
      let roomLeft = true;
      for (let run = queue.take(); run !== undefined; run = queue.take()) {
        for (const pending of unwritten) {
          assert.notEqual(run.bytes.buffer, pending.bytes.buffer, "a chunk with an unwritten run was handed out again");
        }
        if (used.has(run.bytes.buffer)) reused++;
        used.add(run.bytes.buffer);
        unwritten.add(run);
        const taken = run;
        roomLeft = pair.socket.write(run.bytes, () => {
          unwritten.delete(taken);
          taken.written();
        });
      }
      return roomLeft;
    };

    pair.client.pause();
    // Until the kernel's buffers are full, so writes stay unwritten; each turn lets written runs give their chunks back.
    while (sendFrames(2_000)) await new Promise((resolve) => setImmediate(resolve));
    assert.ok(unwritten.size > 0, "the socket holds runs it could not write");
    // More frames while the peer still does not read: their chunks come from the pool, never from an unwritten run.
    for (let i = 0; i < 5; i++) {
      sendFrames(2_000);
      await new Promise((resolve) => setImmediate(resolve));
    }
    assert.ok(unwritten.size > 0, "the peer has still read nothing more");
    assert.ok(reused > 0, "chunks of written runs were reused meanwhile");

    pair.client.resume();
    await until(() => pair.received.length >= texts.length && unwritten.size === 0);
    assert.equal(pair.received.length, texts.length);
    for (const [i, text] of texts.entries()) {
      if (pair.received[i] !== text)
        assert.fail(`frame ${i}: ${pair.received[i]?.slice(0, 40)} instead of ${text.slice(0, 40)}`);
    }
    assert.ok(pool.freeChunks > 0, "once written, the chunks are back in the pool");
  } finally {
    await pair.close();
  }
});
