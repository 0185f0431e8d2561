import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  CLIENT_FRAME_LIMIT_BYTES,
  commandResultsMessage,
  escapedBytes,
  MAX_ERROR_TEXT_CHARS,
  tailWithin,
  withShortError,
} from "../../src/session/frame-limits.js";

const frameBytes = (message: unknown) => Buffer.byteLength(JSON.stringify(message));
const result = (command: string, stdout: string) => ({ command, exit_code: 0, stdout });

describe("a command_execution_result_message within what clients take", () => {
  test("results that fit are sent as they are, the same objects", () => {
    const results = [result("echo a", "a\n"), result("echo big", "x".repeat(500_000))];
    const message = commandResultsMessage(results);
    assert.equal(message.results[0], results[0]);
    assert.equal(message.results[1], results[1]);
  });

  test("one stdout of 1 MiB is cut at its start to fit with the rest of the frame; its tail is kept and flagged", () => {
    const stdout = `${"a".repeat(CLIENT_FRAME_LIMIT_BYTES - 3)}END`;
    const message = commandResultsMessage([result("cat big", stdout)]);
    const [only] = message.results;
    assert.ok(frameBytes(message) <= CLIENT_FRAME_LIMIT_BYTES - 64, `${frameBytes(message)} bytes`);
    assert.ok(only?.stdout?.endsWith("aaEND"));
    assert.ok(stdout.endsWith(only?.stdout ?? "-"), "a tail of the output");
    assert.ok(frameBytes(message) > CLIENT_FRAME_LIMIT_BYTES - 64 - 8, "as much as fits is kept");
    assert.equal(only?.stdout_truncated, true);
  });

  test("escapes count: 300 KB of control characters (six bytes each in JSON) are cut to fit", () => {
    const message = commandResultsMessage([result("binary", "\u0001".repeat(300_000))]);
    assert.ok(frameBytes(message) <= CLIENT_FRAME_LIMIT_BYTES - 64);
    assert.ok((message.results[0]?.stdout?.length ?? 0) > 170_000);
    assert.equal(message.results[0]?.stdout_truncated, true);
  });

  test("several results share the frame: short stdouts stay whole, the long ones give up the most", () => {
    const results = [
      result("one", "1".repeat(900_000)),
      result("two", "short\n"),
      result("three", "3".repeat(900_000)),
      result("four", "4".repeat(100_000)),
    ];
    const message = commandResultsMessage(results);
    assert.ok(frameBytes(message) <= CLIENT_FRAME_LIMIT_BYTES - 64);
    const [one, two, three, four] = message.results;
    assert.equal(two, results[1], "the short one is untouched");
    assert.equal(four, results[3], "100 KB is within an even share");
    assert.equal(one?.stdout_truncated, true);
    assert.equal(three?.stdout_truncated, true);
    assert.ok(
      Math.abs((one?.stdout?.length ?? 0) - (three?.stdout?.length ?? 0)) <= 1,
      "the two long ones share evenly",
    );
    // The room kept for flags the whole results do not need: `,"stdout_truncated":true` each.
    assert.ok(frameBytes(message) > CLIENT_FRAME_LIMIT_BYTES - 64 - 2 * 24 - 4, "the frame is used");
  });

  test("a cut never leaves half a surrogate pair, and multi-byte text counts in UTF-8 bytes", () => {
    const emoji = "😀".repeat(400_000);
    const message = commandResultsMessage([result("emoji", emoji)]);
    const stdout = message.results[0]?.stdout ?? "";
    assert.ok(frameBytes(message) <= CLIENT_FRAME_LIMIT_BYTES - 64);
    assert.equal(stdout.length % 2, 0);
    assert.equal(stdout.codePointAt(0), 0x1f600);
  });

  test("a larger limit (an embedder keeping more stdout) is honoured", () => {
    const stdout = "z".repeat(3_000_000);
    const message = commandResultsMessage([result("cat", stdout)], 4 * 1024 * 1024);
    assert.equal(message.results[0]?.stdout, stdout);
  });
});

describe("an error_message's text", () => {
  const error = (text: string) => ({ message_type: "error_message" as const, error: text, metadata: { code: "x" } });

  test("up to MAX_ERROR_TEXT_CHARS it is sent as it is", () => {
    const message = error("e".repeat(MAX_ERROR_TEXT_CHARS));
    assert.equal(withShortError(message), message);
  });

  test("a longer one keeps its beginning and its end around a note of what was cut", () => {
    const text = `BEGIN${"m".repeat(2_000_000)}END`;
    const short = withShortError(error(text)).error;
    assert.ok(short.startsWith("BEGINmmm"));
    assert.ok(short.endsWith("mmmEND"));
    const cut = /\[\.\.\. (\d+) characters cut \.\.\.\]/.exec(short);
    assert.ok(cut, short.slice(30_000, 34_000));
    assert.equal(short.length - cut[0].length - 2 + Number(cut[1]), text.length, "what is kept and what is cut add up");
    assert.ok(short.length <= MAX_ERROR_TEXT_CHARS);
  });

  test("the cut never leaves half a surrogate pair", () => {
    for (const pad of [0, 1]) {
      const short = withShortError(error(`${"a".repeat(pad)}${"😀".repeat(100_000)}`)).error;
      assert.ok(!/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/.test(short), `pad ${pad}`);
    }
  });
});

describe("counting and cutting as JSON writes", () => {
  /** Units JSON writes in one to six bytes: controls, quote, backslash, ASCII, 2- and 3-byte, pairs and lone surrogates. */
  const ALPHABET = [
    "\u0000",
    "\u0001",
    "\b",
    "\t",
    "\n",
    "\f",
    "\r",
    "\u001f",
    '"',
    "\\",
    "a",
    " ",
    "\u007f",
    "é",
    "\u07ff",
    "€",
    "\uffff",
    "😀",
    "\ud800",
    "\udc00",
  ];
  let seed = 7;
  const random = (n: number) => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return seed % n;
  };
  const randomText = () => Array.from({ length: random(60) }, () => ALPHABET[random(ALPHABET.length)]).join("");
  const jsonBytes = (text: string) => Buffer.byteLength(JSON.stringify(text)) - 2;

  test("escapedBytes agrees with JSON.stringify on every kind of character", () => {
    for (let i = 0; i < 5_000; i++) {
      const text = randomText();
      assert.equal(escapedBytes(text), jsonBytes(text), JSON.stringify(text));
    }
  });

  test("tailWithin gives the longest tail that fits, never starting inside a pair", () => {
    for (let i = 0; i < 5_000; i++) {
      const text = randomText();
      const budget = random(200);
      const tail = tailWithin(text, budget);
      assert.ok(text.endsWith(tail));
      assert.ok(jsonBytes(tail) <= budget, `${JSON.stringify(tail)} within ${budget}`);
      const start = text.length - tail.length;
      if (start === 0) continue;
      const low = tail.charCodeAt(0);
      assert.ok(!((low & 0xfc00) === 0xdc00 && (text.charCodeAt(start - 1) & 0xfc00) === 0xd800), "half a pair");
      // One more unit (the whole pair, if it ends one) would not fit.
      const pair = (text.charCodeAt(start - 1) & 0xfc00) === 0xdc00 && (text.charCodeAt(start - 2) & 0xfc00) === 0xd800;
      assert.ok(jsonBytes(text.slice(start - (pair ? 2 : 1))) > budget, `${JSON.stringify(text)} ${budget}`);
    }
  });
});
