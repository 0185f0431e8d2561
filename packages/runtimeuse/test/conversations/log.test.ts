import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { decode, encodeFile, encodeRun, UnreadableConversation } from "../../src/conversations/log.js";

const at = new Date("2025-01-02T03:04:05.000Z");
const json = (value: unknown) => JSON.stringify(value);

/** A file with two saved runs: the first created it, the second appended. */
function twoRuns(): { text: string; secondLineStart: number } {
  const first = encodeFile(1, at, [json({ prompt: "one" })], json({ n: 1 }));
  const second = encodeRun(2, at, { append: [json({ prompt: "two" }), json([1, 2])], state: json({ n: 2 }) });
  return { text: first + second, secondLineStart: Buffer.byteLength(first) };
}

describe("conversation file format (no I/O)", () => {
  test("a created file plus an appended run decodes to both runs' history and the last state", () => {
    const { text } = twoRuns();
    const decoded = decode(Buffer.from(text));
    assert.equal(decoded.runs, 2);
    assert.deepEqual(decoded.history, [{ prompt: "one" }, { prompt: "two" }, [1, 2]]);
    assert.deepEqual(decoded.state, { n: 2 });
    assert.equal(decoded.committedBytes, Buffer.byteLength(text));
    assert.equal(decoded.supersededBytes, json({ n: 1 }).length, "the first state was replaced");
  });

  test("a run without a state change keeps the earlier state, and without entries adds none", () => {
    const text = encodeFile(1, at, [], json("kept")) + encodeRun(2, at, { append: [] });
    const decoded = decode(Buffer.from(text));
    assert.equal(decoded.runs, 2);
    assert.equal(decoded.state, "kept");
    assert.deepEqual(decoded.history, []);
    assert.equal(decoded.supersededBytes, 0);
  });

  test("the file cut at every byte of the last run's line decodes as it was after the run before", () => {
    const { text, secondLineStart } = twoRuns();
    const bytes = Buffer.from(text);
    for (let cut = secondLineStart; cut < bytes.length; cut++) {
      const decoded = decode(bytes.subarray(0, cut));
      assert.equal(decoded.runs, 1, `cut at ${cut}`);
      assert.deepEqual(decoded.history, [{ prompt: "one" }], `cut at ${cut}`);
      assert.deepEqual(decoded.state, { n: 1 }, `cut at ${cut}`);
      assert.equal(decoded.committedBytes, secondLineStart, `cut at ${cut}`);
    }
  });

  test("a damaged last line (zeros a crash left, then a newline) is an unfinished write and is ignored", () => {
    const { text, secondLineStart } = twoRuns();
    const damaged = Buffer.concat([Buffer.from(text.slice(0, secondLineStart)), Buffer.alloc(40), Buffer.from("\n")]);
    const decoded = decode(damaged);
    assert.equal(decoded.runs, 1);
    assert.equal(decoded.committedBytes, secondLineStart);
  });

  test("damage before the last line makes the file unreadable, naming the line", () => {
    const { text } = twoRuns();
    const lines = text.split("\n");
    lines[1] = "{not json";
    assert.throws(() => decode(Buffer.from(lines.join("\n"))), /line 2: not JSON/);
  });

  test("a run number that does not follow the one before, before the last line, is unreadable", () => {
    const text = encodeFile(1, at, [], undefined) + encodeRun(3, at, { append: [] }) + encodeRun(4, at, { append: [] });
    assert.throws(() => decode(Buffer.from(text)), /line 3: run 3 follows run 1/);
  });

  test("a file that does not start with the header is not a conversation", () => {
    for (const text of ["", "hello\n", `${json({ run: 1 })}\n`, "{}"]) {
      assert.throws(
        () => decode(Buffer.from(text)),
        (error: unknown) => error instanceof UnreadableConversation && /header/.test(error.message),
        JSON.stringify(text),
      );
    }
  });

  test("a rewritten file holds the whole history in one line whose run number continues the count", () => {
    const history = Array.from({ length: 5 }, (_, i) => json({ i }));
    const text = encodeFile(7, at, history, undefined) + encodeRun(8, at, { append: [json("next")] });
    const decoded = decode(Buffer.from(text));
    assert.equal(decoded.runs, 8);
    assert.equal(decoded.history.length, 6);
    assert.equal(decoded.state, undefined);
    assert.equal(text.split("\n").length, 4, "header, the rewritten line, the appended line, and the final newline");
  });
});
