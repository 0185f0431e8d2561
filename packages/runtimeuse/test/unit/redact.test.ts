import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { REDACTED, redactSecrets, redactText } from "../../src/redact/redact.js";
import { StreamRedactor } from "../../src/redact/stream-redactor.js";

describe("redactText", () => {
  test("replaces every occurrence of every secret", () => {
    assert.equal(redactText("a sk-1 b sk-1 c tok", ["sk-1", "tok"]), `a ${REDACTED} b ${REDACTED} c ${REDACTED}`);
  });

  test("overlapping secrets are hidden whole whatever their order", () => {
    for (const secrets of [
      ["abc", "bcd"],
      ["bcd", "abc"],
    ]) {
      assert.equal(redactText("xabcdx", secrets), `x${REDACTED}x`);
    }
    assert.equal(redactText("hunter22", ["hunter2", "hunter22"]), REDACTED);
    assert.equal(redactText("hunter22", ["hunter22", "hunter2"]), REDACTED);
  });

  test("empty secrets are ignored and text without secrets is returned as is", () => {
    assert.equal(redactText("abc", [""]), "abc");
    assert.equal(redactText("abc", []), "abc");
  });

  test("a secret that is part of the marker does not re-redact the marker", () => {
    assert.equal(redactText("RED", ["RED"]), REDACTED);
  });
});

describe("redactSecrets", () => {
  test("redacts strings at any depth but never keys or message_type", () => {
    const message = {
      message_type: "result_message",
      data: { type: "text", text: "the result is result" },
      metadata: { result: ["result", { deep: "result!" }] },
    };
    const clean = redactSecrets(message, ["result"]);
    assert.deepEqual(clean, {
      message_type: "result_message",
      data: { type: "text", text: `the ${REDACTED} is ${REDACTED}` },
      metadata: { result: [REDACTED, { deep: `${REDACTED}!` }] },
    });
    assert.equal(message.data.text, "the result is result", "the input is not modified");
  });

  test("an object without secrets is returned without copying", () => {
    const message = { message_type: "assistant_message", text_blocks: ["hello"] };
    assert.equal(redactSecrets(message, ["zzz"]), message);
  });

  test("__proto__ keys are kept as plain data", () => {
    const message = JSON.parse('{"a": {"__proto__": "secret"}}');
    const clean = redactSecrets(message, ["secret"]) as { a: Record<string, unknown> };
    assert.equal(Object.getOwnPropertyDescriptor(clean.a, "__proto__")?.value, REDACTED);
  });
});

describe("StreamRedactor", () => {
  const run = (secrets: string[], chunks: string[]) => {
    const redactor = new StreamRedactor(secrets);
    return chunks.map((chunk) => redactor.push(chunk)).join("") + redactor.end();
  };

  test("a secret split at every position is redacted", () => {
    const secret = "s3cr3t-value";
    const text = `before ${secret} after`;
    for (let i = 0; i <= text.length; i++) {
      const out = run([secret], [text.slice(0, i), text.slice(i)]);
      assert.equal(out, `before ${REDACTED} after`, `split at ${i}`);
    }
  });

  test("a secret written one character at a time is redacted", () => {
    const out = run(["abcdef"], [..."xxabcdefyy"]);
    assert.equal(out, `xx${REDACTED}yy`);
  });

  test("nothing is held back when there are no secrets", () => {
    const redactor = new StreamRedactor([]);
    assert.equal(redactor.push("abc"), "abc");
  });

  test("only a possible secret prefix is held back", () => {
    const redactor = new StreamRedactor(["secret"]);
    assert.equal(redactor.push("hello se"), "hello ");
    assert.equal(redactor.push("x"), "sex");
  });

  test("a short secret inside a longer one split across chunks does not leak the longer one", () => {
    const out = run(["ab", "abcd"], ["xab", "cdy"]);
    assert.equal(out.includes("cd"), false);
    assert.equal(out.includes("ab"), false);
  });
});
