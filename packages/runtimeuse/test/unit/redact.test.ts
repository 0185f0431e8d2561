import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { ErrorCode, type RuntimeMessage, validateRuntimeMessage } from "@runtimeuse/protocol";
import { REDACTED, redactText } from "../../src/redact/redact.js";
import { StreamRedactor } from "../../src/redact/stream-redactor.js";
import { redactSecrets } from "../../src/session/redact-message.js";

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

  /** One message of each runtime type, using every word of the protocol somewhere. */
  const messages: RuntimeMessage[] = [
    { message_type: "result_message", metadata: { agent: "echo" }, data: { type: "text", text: "the text" } },
    {
      message_type: "result_message",
      metadata: {},
      data: { type: "structured_output", structured_output: { type: "structured_output", text: "text" } },
    },
    { message_type: "command_output_message", stream: "stdout", text: "stdout says stdout", command: "echo stdout" },
    { message_type: "command_output_message", stream: "stderr", text: "stderr", command: "stderr" },
    { message_type: "heartbeat_message", phase: "agent", elapsed_ms: 5 },
    { message_type: "heartbeat_message", phase: "downloading", elapsed_ms: 5 },
    { message_type: "assistant_message", text_blocks: ["assistant_message"] },
    { message_type: "artifact_upload_request_message", filename: "uploaded", filepath: "/w/uploaded" },
    {
      message_type: "end_session_confirm_message",
      artifacts: [
        { filepath: "/w/a", size: 1, status: "uploaded" },
        { filepath: "/w/b", size: 1, status: "failed", error: "upload failed" },
        { filepath: "/w/c", size: 1, status: "not_requested" },
      ],
    },
    { message_type: "command_execution_result_message", results: [{ command: "x", exit_code: 0, stdout: "stdout" }] },
    ...Object.values(ErrorCode).map(
      (code): RuntimeMessage => ({ message_type: "error_message", error: `failed: ${code}`, metadata: { code } }),
    ),
  ];

  /** The values of a message that are words of the protocol, by path. */
  function words(message: Record<string, unknown>): Record<string, unknown> {
    const out: Record<string, unknown> = { message_type: message.message_type };
    const data = message.data as Record<string, unknown> | undefined;
    if (data) out["data.type"] = data.type;
    for (const key of ["stream", "phase"]) if (key in message) out[key] = message[key];
    const metadata = message.metadata as Record<string, unknown> | undefined;
    if (message.message_type === "error_message") out["metadata.code"] = metadata?.code;
    const artifacts = (message.artifacts ?? []) as Array<Record<string, unknown>>;
    artifacts.forEach((entry, i) => {
      out[`artifacts[${i}].status`] = entry.status;
    });
    return out;
  }

  test("a secret equal to a word of the protocol leaves every message parseable with its words intact", () => {
    const every = new Set<string>();
    for (const message of messages) for (const word of Object.values(words(message))) every.add(String(word));
    for (const word of ["text", "stdout", "stderr", "structured_output", "uploaded", "cancelled", "agent"]) {
      assert.ok(every.has(word), `the messages cover ${word}`);
    }
    for (const message of messages) {
      for (const secret of every) {
        const clean = redactSecrets(message, [secret]) as Record<string, unknown>;
        const parsed = validateRuntimeMessage(clean);
        assert.ok(parsed.ok, `${secret} in ${JSON.stringify(message)}: ${parsed.ok ? "" : parsed.error.message}`);
        assert.deepEqual(words(clean), words(message as Record<string, unknown>), `secret ${secret}`);
      }
    }
  });

  test("free text next to the words is still redacted, keys are not", () => {
    const [text, structured, stdout] = messages;
    assert.deepEqual(redactSecrets(text, ["text"]), {
      message_type: "result_message",
      metadata: { agent: "echo" },
      data: { type: "text", text: `the ${REDACTED}` },
    });
    assert.deepEqual(redactSecrets(structured, ["text", "structured_output"]), {
      message_type: "result_message",
      metadata: {},
      data: { type: "structured_output", structured_output: { type: REDACTED, text: REDACTED } },
    });
    assert.deepEqual(redactSecrets(stdout, ["stdout"]), {
      message_type: "command_output_message",
      stream: "stdout",
      text: `${REDACTED} says ${REDACTED}`,
      command: `echo ${REDACTED}`,
    });
  });

  test("an error's metadata.code is kept only when it is an error code; any other value is free text", () => {
    const message: RuntimeMessage = {
      message_type: "error_message",
      error: "e",
      metadata: { code: "hunter2", x: "hunter2" },
    };
    assert.deepEqual(redactSecrets(message, ["hunter2"]), {
      message_type: "error_message",
      error: "e",
      metadata: { code: REDACTED, x: REDACTED },
    });
  });

  test("an object without secrets is returned without copying", () => {
    const message = { message_type: "assistant_message", text_blocks: ["hello"] };
    assert.equal(redactSecrets(message, ["zzz"]), message);
  });

  test("one secret deep in a message is found and redacted; only its path is copied", () => {
    const untouched = { note: "clean" };
    const message = {
      message_type: "result_message",
      data: { type: "text", text: "clean" },
      metadata: { steps: [untouched, { tool: { output: ["ok", 7, null, "token=s3cr3t!"] } }] },
    };
    const clean = redactSecrets(message, ["s3cr3t"]);
    assert.notEqual(clean, message);
    assert.deepEqual(clean.metadata.steps[1], { tool: { output: ["ok", 7, null, `token=${REDACTED}!`] } });
    assert.equal(clean.metadata.steps[0], untouched, "a branch without the secret is not copied");
    assert.equal(clean.data, message.data);
    assert.deepEqual(
      message.metadata.steps[1],
      { tool: { output: ["ok", 7, null, "token=s3cr3t!"] } },
      "the original is left as it was",
    );
  });

  test("inherited and key-only occurrences change nothing: own string values are what is redacted", () => {
    const inherited = Object.create({ inheritedNote: "s3cr3t" }) as Record<string, unknown>;
    inherited.own = "clean";
    const message = { message_type: "assistant_message", text_blocks: ["clean"], extra: inherited, s3cr3t: "key" };
    assert.equal(redactSecrets(message, ["s3cr3t"]), message);
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
