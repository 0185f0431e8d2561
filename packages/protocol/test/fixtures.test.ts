import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { describe, test } from "node:test";
import {
  CLIENT_MESSAGE_TYPES,
  parseClientFrame,
  parseRuntimeFrame,
  validateClientMessage,
  validateRuntimeMessage,
} from "../src/index.js";

const root = new URL("../fixtures/", import.meta.url);

function load(kind: "valid" | "invalid") {
  return readdirSync(new URL(`${kind}/`, root))
    .filter((name) => name.endsWith(".json"))
    .map((name) => ({ name, body: JSON.parse(readFileSync(new URL(`${kind}/${name}`, root), "utf8")) as unknown }));
}

function validate(name: string, body: unknown) {
  const type = name.split(".")[0] as string;
  return (CLIENT_MESSAGE_TYPES as readonly string[]).includes(type)
    ? validateClientMessage(body)
    : validateRuntimeMessage(body);
}

describe("shared protocol fixtures", () => {
  test("there is at least one valid fixture for every message type", () => {
    const types = new Set(load("valid").map(({ name }) => name.split(".")[0]));
    for (const type of [...CLIENT_MESSAGE_TYPES, "assistant_message", "command_output_message", "heartbeat_message"]) {
      assert.ok(types.has(type), `no valid fixture for ${type}`);
    }
  });

  for (const { name, body } of load("valid")) {
    test(`valid/${name} is accepted`, () => {
      const result = validate(name, body);
      assert.ok(result.ok, result.ok ? "" : result.error.message);
    });
  }

  for (const { name, body } of load("invalid")) {
    test(`invalid/${name} is rejected with an error naming a field`, () => {
      const result = validate(name, body);
      assert.equal(result.ok, false);
      if (!result.ok) assert.match(result.error.message, /\w+: /);
    });
  }
});

describe("resumable-connection frame fixtures", () => {
  const resume = new URL("resume/", root);
  const frames = (kind: "valid" | "invalid") =>
    readdirSync(new URL(`${kind}/`, resume))
      .filter((name) => name.endsWith(".json"))
      .map((name) => ({ name, text: readFileSync(new URL(`${kind}/${name}`, resume), "utf8") }));
  const parse = (name: string, text: string) => {
    const type = name.split(".")[0] as string;
    // ack_message travels both ways: it must parse as either side's frame.
    if (type === "ack_message") {
      const client = parseClientFrame(text);
      const runtime = parseRuntimeFrame(text);
      assert.equal(client.ok, runtime.ok, "ack_message parses alike on both sides");
      return client;
    }
    return (CLIENT_MESSAGE_TYPES as readonly string[]).includes(type)
      ? parseClientFrame(text)
      : parseRuntimeFrame(text);
  };

  for (const { name, text } of frames("valid")) {
    test(`resume/valid/${name} is accepted as a frame`, () => {
      const result = parse(name, text);
      assert.ok(result.ok, result.ok ? "" : result.error.message);
    });
  }
  for (const { name, text } of frames("invalid")) {
    test(`resume/invalid/${name} is rejected with an error naming a field`, () => {
      const result = parse(name, text);
      assert.equal(result.ok, false);
      if (!result.ok) assert.match(result.error.message, /\w+: /);
    });
  }

  test("a numbered message keeps its seq beside the validated message", () => {
    const result = parseRuntimeFrame('{"message_type":"assistant_message","text_blocks":["x"],"seq":9}');
    assert.ok(result.ok);
    assert.ok("message" in result.message);
    assert.equal(result.message.seq, 9);
    assert.deepEqual(result.message.message, { message_type: "assistant_message", text_blocks: ["x"] });
  });
});
