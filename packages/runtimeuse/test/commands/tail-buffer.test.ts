import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { TailBuffer } from "../../src/commands/tail-buffer.js";

/** The longest suffix of `text` of at most `limit` UTF-8 bytes that starts on a character. */
function expectedTail(text: string, limit: number): string {
  const bytes = Buffer.from(text);
  let start = Math.max(0, bytes.length - limit);
  while (start < bytes.length && ((bytes[start] as number) & 0xc0) === 0x80) start++;
  return bytes.subarray(start).toString();
}

describe("TailBuffer", () => {
  test("keeps the byte-accurate tail for any chunking of mixed-width text", () => {
    const alphabet = ["a", "é", "€", "😀", "\n"];
    let seed = 1;
    const next = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed % n;
    };
    for (let round = 0; round < 300; round++) {
      const limit = 1 + next(200);
      const tail = new TailBuffer(limit);
      let whole = "";
      const chunks = next(30);
      for (let c = 0; c < chunks; c++) {
        let chunk = "";
        for (let i = next(40); i > 0; i--) chunk += alphabet[next(alphabet.length)];
        tail.push(chunk);
        whole += chunk;
      }
      const kept = tail.text();
      assert.equal(kept, expectedTail(whole, limit), `round ${round}`);
      assert.ok(Buffer.byteLength(kept) <= limit);
      assert.equal(tail.truncated, Buffer.byteLength(whole) > limit, `round ${round}`);
      assert.equal(tail.text(), kept, "reading twice gives the same text");
    }
  });

  test("memory stays bounded: at most the limit plus one chunk is held", () => {
    const tail = new TailBuffer(1000);
    for (let i = 0; i < 10_000; i++) {
      tail.push("x".repeat(300));
      assert.ok((tail as unknown as { bytes: number }).bytes < 1300);
    }
    assert.equal(tail.text(), "x".repeat(1000));
  });
});
