import assert from "node:assert/strict";
import { test } from "node:test";
import { ChunkPool } from "../../src/session/chunk-pool.js";
import { FrameQueue } from "../../src/session/frame-queue.js";
import { until, wsPair } from "./support/ws-pair.js";

/** Bytes a text frame of this payload takes on the wire, server to client (RFC 6455 section 5.2). */
function wireBytes(payload: number): number {
  return payload + (payload < 126 ? 2 : payload < 65536 ? 4 : 10);
}

test("a frame queue gives back every frame, byte for byte and in order, across chunks, multi-byte text and an oversized frame", () => {
  const queue = new FrameQueue(new ChunkPool());
  const frames: string[] = [];
  for (let i = 0; i < 5_000; i++)
    frames.push(JSON.stringify({ i, text: i % 7 === 0 ? `é ${"✓".repeat(i % 50)}` : "plain" }));
  frames.splice(2_500, 0, "x".repeat(200 * 1024));
  let bytes = 0;
  for (const frame of frames) {
    queue.push(frame);
    bytes += wireBytes(Buffer.byteLength(frame));
  }
  assert.equal(queue.length, frames.length);
  assert.equal(queue.bytes, bytes);
  for (const [i, frame] of frames.entries()) {
    const out = queue.shift();
    assert.ok(out, `frame ${i} is there`);
    assert.equal(out.toString("utf8"), frame, `frame ${i}`);
    bytes -= wireBytes(out.length);
    assert.equal(queue.bytes, bytes);
  }
  assert.equal(queue.shift(), undefined);
  assert.equal(queue.length, 0);
  queue.push("after");
  assert.equal(queue.shift()?.toString("utf8"), "after");
});

test("a cleared frame queue holds nothing and takes new frames", () => {
  const queue = new FrameQueue(new ChunkPool());
  queue.push("a");
  queue.push("b");
  queue.clear();
  assert.equal(queue.length, 0);
  assert.equal(queue.bytes, 0);
  assert.equal(queue.shift(), undefined);
  assert.equal(queue.take(), undefined);
  queue.push("c");
  assert.equal(queue.shift()?.toString("utf8"), "c");
});

test("runs taken from a frame queue, written as they are, are whole text frames a ws client reads in order, at every header size", async () => {
  const pair = await wsPair();
  try {
    const sizes = [0, 1, 125, 126, 127, 65_535, 65_536, 70_000, 200 * 1024];
    const texts = sizes.map((size, i) => String(i % 10).repeat(size));
    texts.push(
      "é ✓ 𝄞 multi-byte",
      JSON.stringify({ message_type: "assistant_message", text_blocks: ["ü".repeat(100)] }),
    );
    const queue = new FrameQueue(new ChunkPool());
    for (const text of texts) queue.push(text);
    for (const text of texts.slice(0, 3)) queue.push(Buffer.from(text, "utf8"));
    // Encoded straight into the chunk: a 2-byte header, a 4-byte one, and one too large for that (through the text).
    const messages = [10, 200, 70_000].map((size) => ({
      message_type: "assistant_message",
      text_blocks: ["é".repeat(size)],
    }));
    for (const message of messages) queue.pushJson(message);
    const expected = [...texts, ...texts.slice(0, 3), ...messages.map((message) => JSON.stringify(message))];
    let frames = 0;
    for (let run = queue.take(); run !== undefined; run = queue.take()) {
      frames += run.frames;
      pair.socket.write(run.bytes, run.written);
    }
    assert.equal(frames, expected.length);
    assert.equal(queue.length, 0);
    assert.equal(queue.bytes, 0);
    await until(() => pair.received.length >= expected.length);
    assert.deepEqual(pair.received, expected);
  } finally {
    await pair.close();
  }
});

test("an emptied frame queue holds no chunk: it goes back to the pool once every run taken from it is written, and one lent through shift never does", () => {
  const pool = new ChunkPool(1024, 8);
  const queue = new FrameQueue(pool);
  queue.push("one");
  queue.push("two");
  const run = queue.take();
  assert.equal(run?.frames, 2);
  assert.equal(queue.take(), undefined);
  assert.equal(pool.freeChunks, 0, "its run is still unwritten");
  run?.written();
  run?.written();
  assert.equal(pool.freeChunks, 1, "given back once, however often `written` is called");
  queue.push("three");
  const next = queue.take();
  assert.equal(next?.bytes.buffer, run?.bytes.buffer, "the next frame reuses it");
  next?.written();
  queue.push("lent");
  assert.equal(pool.freeChunks, 0);
  assert.equal(queue.shift()?.toString(), "lent");
  assert.equal(pool.freeChunks, 0, "a chunk whose frame went out through shift is not reused");
  queue.push("x".repeat(4096));
  const oversized = queue.take();
  oversized?.written();
  assert.equal(pool.freeChunks, 0, "a frame larger than a chunk gets a buffer of its own, not pooled");
});
