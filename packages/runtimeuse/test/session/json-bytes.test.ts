import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { writeJson } from "../../src/session/json-bytes.js";

const FIXTURES = fileURLToPath(new URL("../../../protocol/fixtures/valid/", import.meta.url));

/** What `writeJson` wrote for `message` into a roomy buffer, or undefined when it declined. */
function written(message: object, room = 1 << 20): string | undefined {
  const bytes = Buffer.alloc(room + 8, 0xee);
  const end = writeJson(message, bytes, 3, 3 + room);
  if (end < 0) return undefined;
  assert.ok(
    bytes.subarray(3 + room).every((byte) => byte === 0xee),
    "nothing written past the end it was given",
  );
  return bytes.subarray(3, end).toString("utf8");
}

test("every valid protocol fixture is written as exactly the bytes JSON.stringify gives", () => {
  const files = readdirSync(FIXTURES).filter((name) => name.endsWith(".json"));
  assert.ok(files.length > 30);
  for (const file of files) {
    const message = JSON.parse(readFileSync(`${FIXTURES}${file}`, "utf8")) as object;
    assert.equal(written(message), JSON.stringify(message), file);
  }
});

test("strings that need escaping, multi-byte and astral text, lone surrogates and odd values are written as JSON.stringify writes them", () => {
  const message = {
    message_type: "assistant_message",
    text_blocks: [
      'quote " and \\ backslash',
      "tab\tnew\nline\u0000\u001f",
      "é ✓ 𝄞",
      "lone \ud800 high",
      "",
      "x".repeat(5000),
    ],
    skipped: undefined,
    fn: () => 1,
    nested: { a: [1, null, undefined, "b", { c: true }], d: -0, e: Number.NaN },
    list: [undefined, () => 2, Symbol("s")],
    "1": "an index-like key comes first",
    'ké"y': "a key that needs escaping",
    date: new Date(0),
  };
  assert.equal(written({ ...message, date: undefined }), JSON.stringify({ ...message, date: undefined }));
  assert.equal(written(message), undefined, "a value with toJSON is left to JSON.stringify");
});

test("a message that may not fit is declined without writing past the end, and so is anything but a plain object", () => {
  const message = { message_type: "assistant_message", text_blocks: ["a".repeat(100)] };
  const exact = JSON.stringify(message);
  assert.equal(written(message, exact.length + 300), exact);
  assert.equal(written(message, 50), undefined);
  assert.equal(written(Object.assign(Object.create(null) as object, message)), undefined);
  class Message {
    message_type = "assistant_message";
  }
  assert.equal(written(new Message()), undefined);
});
