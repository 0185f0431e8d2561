import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  CLIENT_FRAME_LIMIT_BYTES,
  commandResultsMessage,
  errorFrame,
  escapedBytes,
  headWithin,
  MAX_ERROR_METADATA_BYTES,
  MAX_ERROR_TEXT_CHARS,
  streamedFrames,
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

  test("many stdouts longer than a frame, binary ones among them, share it: each keeps a tail, the frame is used", () => {
    const binary = "\u0001\u0002abc\u0003\ud800".repeat(200_000);
    const text = "line of output\n".repeat(100_000);
    const results = Array.from({ length: 40 }, (_, i) => result(`cat ${i}`, i % 2 === 0 ? binary : text));
    const message = commandResultsMessage(results);
    assert.ok(frameBytes(message) <= CLIENT_FRAME_LIMIT_BYTES - 64, `${frameBytes(message)} bytes`);
    assert.ok(frameBytes(message) > CLIENT_FRAME_LIMIT_BYTES - 64 - 40 * 8, "the frame is used");
    for (const [i, cut] of message.results.entries()) {
      assert.equal(cut.stdout_truncated, true);
      assert.ok(results[i]?.stdout.endsWith(cut.stdout ?? "-"), "a tail of its output");
      assert.ok(escapedBytes(cut.stdout ?? "") > 20_000, `result ${i} kept its share`);
    }
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

describe("an error_message's metadata", () => {
  const error = (metadata: Record<string, unknown>) => ({
    message_type: "error_message" as const,
    error: "failed",
    metadata,
  });

  test("metadata up to MAX_ERROR_METADATA_BYTES of JSON is sent as it is", () => {
    const small = error({ code: "handler_error", stage: "upload", status: 502 });
    assert.equal(errorFrame(small), small);
    const nested = error({ code: "handler_error", response: { body: "x".repeat(MAX_ERROR_METADATA_BYTES - 100) } });
    assert.equal(errorFrame(nested), nested);
  });

  test("larger metadata is left out, nested or not; the code and field stay and the frame fits a client's", () => {
    for (const metadata of [
      { code: "handler_error", field: "body", body: "é".repeat(200_000) },
      { code: "handler_error", response: { pages: Array.from({ length: 40_000 }, (_, i) => ({ i })) } },
    ]) {
      const frame = errorFrame({ ...error(metadata), error: "\u0001".repeat(MAX_ERROR_TEXT_CHARS * 4) });
      const sent = frame.metadata ?? {};
      assert.equal(sent.code, "handler_error");
      assert.equal(sent.field, metadata.field);
      assert.match(String(sent.metadata_left_out), /^the error's metadata was \d+ bytes of JSON, more than the 262144/);
      assert.equal(Object.keys(sent).length, metadata.field === undefined ? 2 : 3);
      assert.ok(frameBytes(frame) <= CLIENT_FRAME_LIMIT_BYTES - 64, `${frameBytes(frame)} bytes`);
      assert.match(frame.error, /characters cut/);
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

  /**
   * Long texts, which are measured with native scans: runs of one character
   * each, mostly of characters JSON writes as UTF-8 does or with one
   * backslash more, and in one text of four a six-byte escape here and there.
   */
  const CONTROLS = ["\u0000", "\u0001", "\u001f"];
  const LONE_HALVES = ["\ud800", "\udc00"];
  const REGULAR = ALPHABET.filter((char) => !CONTROLS.includes(char) && !LONE_HALVES.includes(char));
  /** The high bits of a second generator: the runs need more than the low bits of `random` give. */
  let state = 99;
  const pick = (n: number) => {
    state = (state * 1103515245 + 12345) % 2 ** 31;
    return Math.floor((state / 2 ** 31) * n);
  };
  const longText = () => {
    // Three texts of five are regular; the others have control characters or lone halves of pairs here and there.
    const odd = [undefined, undefined, undefined, CONTROLS, LONE_HALVES][pick(5)];
    const length = 4_096 + pick(40_000);
    let text = "";
    while (text.length < length) {
      const pool = odd && pick(40) === 0 ? odd : REGULAR;
      text += (pool[pick(pool.length)] as string).repeat(1 + pick(pick(2) === 0 ? 4 : 3_000));
    }
    return text;
  };

  /** One more unit at `end` (the whole pair, if it starts one) would not fit `budget`. */
  const nextUnitWouldNotFit = (text: string, end: number, budget: number) => {
    const pair = (text.charCodeAt(end) & 0xfc00) === 0xd800 && (text.charCodeAt(end + 1) & 0xfc00) === 0xdc00;
    return jsonBytes(text.slice(0, end + (pair ? 2 : 1))) > budget;
  };

  const checkTail = (text: string, budget: number) => {
    const tail = tailWithin(text, budget);
    assert.ok(text.endsWith(tail));
    assert.ok(jsonBytes(tail) <= budget, `${tail.length} units within ${budget}`);
    const start = text.length - tail.length;
    if (start === 0) return;
    const low = tail.charCodeAt(0);
    assert.ok(!((low & 0xfc00) === 0xdc00 && (text.charCodeAt(start - 1) & 0xfc00) === 0xd800), "half a pair");
    // One more unit (the whole pair, if it ends one) would not fit.
    const pair = (text.charCodeAt(start - 1) & 0xfc00) === 0xdc00 && (text.charCodeAt(start - 2) & 0xfc00) === 0xd800;
    assert.ok(jsonBytes(text.slice(start - (pair ? 2 : 1))) > budget, `a longer tail fits ${budget}`);
  };

  const checkHead = (text: string, budget: number) => {
    const head = headWithin(text, budget);
    assert.ok(text.startsWith(head));
    if (text.length === 0) return;
    assert.ok(head.length > 0, "always moves on");
    const end = head.length;
    assert.ok(
      !((text.charCodeAt(end) & 0xfc00) === 0xdc00 && (text.charCodeAt(end - 1) & 0xfc00) === 0xd800),
      "half a pair",
    );
    if (jsonBytes(head) > budget) {
      assert.ok(end <= 2, `only a first character may go over: ${head.length} units within ${budget}`);
      return;
    }
    if (end < text.length) assert.ok(nextUnitWouldNotFit(text, end, budget), `a longer head fits ${budget}`);
  };

  test("tailWithin gives the longest tail that fits, never starting inside a pair", () => {
    for (let i = 0; i < 5_000; i++) checkTail(randomText(), random(200));
  });

  test("headWithin gives the longest head that fits, never ending inside a pair, and at least one character", () => {
    for (let i = 0; i < 5_000; i++) checkHead(randomText(), random(200));
  });

  test("long texts, measured with native scans, get the same sizes, heads and tails", () => {
    for (let i = 0; i < 300; i++) {
      const text = longText();
      assert.equal(escapedBytes(text), jsonBytes(text), `text ${i}`);
      const budget = 4_096 + pick(60_000);
      checkHead(text, budget);
      checkTail(text, budget);
      // Pairs at both ends: a cut may fall at either half.
      const paired = `\ud83d\ude00${text}\ud83d\ude00`;
      checkHead(paired, budget);
      checkTail(paired, budget);
    }
  });

  test("streamedFrames spreads long messages over full frames, losing and reordering nothing", () => {
    const limit = 24_000;
    const output = { message_type: "command_output_message" as const, stream: "stdout" as const, command: "cat" };
    const room = limit - 64 - frameBytes({ ...output, text: "" });
    for (let i = 0; i < 60; i++) {
      const blocks = Array.from({ length: 1 + pick(3) }, () => (pick(3) === 0 ? randomText() : longText()));
      const message = { message_type: "assistant_message" as const, text_blocks: blocks };
      const frames = (streamedFrames(message, limit) ?? [message]) as (typeof message)[];
      for (const frame of frames) assert.ok(frameBytes(frame) <= limit - 64, `${frameBytes(frame)} bytes`);
      assert.equal(frames.flatMap((frame) => frame.text_blocks).join(""), blocks.join(""));

      const text = blocks.join("");
      const pieces = (streamedFrames({ ...output, text }, limit) ?? [{ ...output, text }]) as { text: string }[];
      for (const piece of pieces) assert.ok(frameBytes(piece) <= limit - 64, `${frameBytes(piece)} bytes`);
      assert.equal(pieces.map((piece) => piece.text).join(""), text);
      // Every piece but the last is as long as the frame allows.
      let offset = 0;
      for (const piece of pieces.slice(0, -1)) {
        assert.ok(nextUnitWouldNotFit(text.slice(offset), piece.text.length, room), `piece at ${offset}`);
        offset += piece.text.length;
      }
    }
  });

  test("streamedFrames spreads random messages over frames within a small limit, losing and reordering nothing", () => {
    const limit = 400;
    for (let i = 0; i < 2_000; i++) {
      const blocks = Array.from({ length: random(6) }, () => randomText().repeat(1 + random(8)));
      const message = { message_type: "assistant_message" as const, text_blocks: blocks };
      const frames = (streamedFrames(message, limit) ?? [message]) as (typeof message)[];
      for (const frame of frames) {
        assert.ok(frameBytes(frame) <= limit - 64, `${frameBytes(frame)} bytes: ${JSON.stringify(frame)}`);
        assert.equal(frame.message_type, "assistant_message");
      }
      assert.equal(frames.flatMap((frame) => frame.text_blocks).join(""), blocks.join(""));
      if (frames.length === 1) assert.equal(frames[0], message, "a message that fits is not copied");

      const output = {
        message_type: "command_output_message" as const,
        stream: "stderr" as const,
        command: "cat",
        text: blocks.join(""),
      };
      const pieces = (streamedFrames(output, 8192) ?? [output]) as (typeof output)[];
      for (const piece of pieces) {
        assert.ok(frameBytes(piece) <= 8192 - 64);
        assert.equal(piece.stream, "stderr");
        assert.equal(piece.command, "cat");
      }
      assert.equal(pieces.map((piece) => piece.text).join(""), output.text);
    }
  });
});

describe("a streamed message within what clients take", () => {
  const assistant = (...blocks: string[]) => ({ message_type: "assistant_message" as const, text_blocks: blocks });

  test("a message that fits a frame is sent as it is: no copy, no measuring", () => {
    assert.equal(streamedFrames(assistant("hello", "x".repeat(170_000))), undefined);
    assert.equal(streamedFrames(assistant("y".repeat(1_000_000))), undefined, "1,000,000 ASCII characters fit 1 MiB");
    assert.equal(streamedFrames({ message_type: "heartbeat_message", phase: "agent", elapsed_ms: 1 }), undefined);
  });

  test("a 3 MB block is split over frames of up to 1 MiB, in order, and short blocks share a frame", () => {
    const big = `start-${"b".repeat(3_000_000)}-end`;
    const frames = streamedFrames(assistant("first", "second", big, "after")) as ReturnType<typeof assistant>[];
    assert.ok(frames.length >= 3 && frames.length <= 4, `${frames.length} frames`);
    for (const frame of frames) assert.ok(frameBytes(frame) <= CLIENT_FRAME_LIMIT_BYTES - 64);
    assert.deepEqual(frames[0]?.text_blocks.slice(0, 2), ["first", "second"], "the short ones lead, whole");
    assert.equal(frames.at(-1)?.text_blocks.at(-1), "after", "a block after the cut joins the last piece");
    assert.equal(frames.flatMap((frame) => frame.text_blocks).join(""), `firstsecond${big}after`);
    assert.ok(frameBytes(frames[1]) > CLIENT_FRAME_LIMIT_BYTES - 64 - 16, "each full frame is used");
  });

  test("escapes count: 400,000 control characters (six bytes each) take three frames", () => {
    const frames = streamedFrames(assistant("\u0001".repeat(400_000))) as ReturnType<typeof assistant>[];
    assert.equal(frames.length, 3);
    for (const frame of frames) assert.ok(frameBytes(frame) <= CLIENT_FRAME_LIMIT_BYTES - 64);
  });

  test("command output longer than a frame is split anywhere, each piece naming its command and stream", () => {
    const text = "😀".repeat(700_000);
    const message = {
      message_type: "command_output_message" as const,
      stream: "stdout" as const,
      command: "emoji",
      text,
    };
    const frames = streamedFrames(message) as (typeof message)[];
    assert.equal(frames.length, 3);
    for (const frame of frames) {
      assert.ok(frameBytes(frame) <= CLIENT_FRAME_LIMIT_BYTES - 64);
      assert.equal(Buffer.from(frame.text).toString(), frame.text, "no half pair (UTF-8 would replace it)");
      assert.equal(frame.command, "emoji");
    }
    assert.equal(frames.map((frame) => frame.text).join(""), text);
  });

  test("an output message whose command alone fills a frame goes as it is", () => {
    const message = {
      message_type: "command_output_message" as const,
      stream: "stdout" as const,
      command: "c".repeat(CLIENT_FRAME_LIMIT_BYTES),
      text: "out".repeat(100_000),
    };
    assert.equal(streamedFrames(message), undefined);
  });
});
