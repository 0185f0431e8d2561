import assert from "node:assert/strict";
import { test } from "node:test";
import { FrameQueue } from "../../src/session/frame-queue.js";

test("a frame queue gives back every frame, byte for byte and in order, across chunks, multi-byte text and an oversized frame", () => {
  const queue = new FrameQueue();
  const frames: string[] = [];
  for (let i = 0; i < 5_000; i++)
    frames.push(JSON.stringify({ i, text: i % 7 === 0 ? `é ${"✓".repeat(i % 50)}` : "plain" }));
  frames.splice(2_500, 0, "x".repeat(200 * 1024));
  let bytes = 0;
  for (const frame of frames) {
    queue.push(frame);
    bytes += Buffer.byteLength(frame);
  }
  assert.equal(queue.length, frames.length);
  assert.equal(queue.bytes, bytes);
  for (const [i, frame] of frames.entries()) {
    const out = queue.shift();
    assert.ok(out, `frame ${i} is there`);
    assert.equal(out.toString("utf8"), frame, `frame ${i}`);
    bytes -= out.length;
    assert.equal(queue.bytes, bytes);
  }
  assert.equal(queue.shift(), undefined);
  assert.equal(queue.length, 0);
  queue.push("after");
  assert.equal(queue.shift()?.toString("utf8"), "after");
});

test("a cleared frame queue holds nothing and takes new frames", () => {
  const queue = new FrameQueue();
  queue.push("a");
  queue.push("b");
  queue.clear();
  assert.equal(queue.length, 0);
  assert.equal(queue.bytes, 0);
  assert.equal(queue.shift(), undefined);
  queue.push("c");
  assert.equal(queue.shift()?.toString("utf8"), "c");
});
