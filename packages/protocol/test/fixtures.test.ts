import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { describe, test } from "node:test";
import {
  CLIENT_MESSAGE_TYPES,
  ErrorCode,
  isConversationId,
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

describe("conversation_id", () => {
  const base = { message_type: "invocation_message", system_prompt: "s", user_prompt: "u", model: "m" };

  for (const { name, body } of load("invalid").filter(({ name }) => name.includes("conversation-id"))) {
    test(`invalid/${name} is refused with code invalid_conversation_id and field conversation_id`, () => {
      const result = validateClientMessage(body);
      assert.equal(result.ok, false);
      if (result.ok) return;
      assert.equal(result.error.code, ErrorCode.InvalidConversationId);
      assert.equal(result.error.field, "conversation_id");
      assert.match(result.error.message, /^invocation_message: conversation_id: expected a string of 1 to 128/);
    });
  }

  test("isConversationId accepts exactly what the schema accepts", () => {
    for (const value of ["c1", "a".repeat(128), "A.b_c-9", "0"]) assert.equal(isConversationId(value), true, value);
    for (const value of ["", "a".repeat(129), "../x", "a/b", ".x", "-x", "_x", "a b", "a\u0000", 7, null]) {
      assert.equal(isConversationId(value), false, String(value));
    }
  });

  test("a valid id is kept and null means absent", () => {
    const kept = validateClientMessage({ ...base, conversation_id: "c1" });
    assert.ok(kept.ok && kept.message.message_type === "invocation_message");
    assert.equal(kept.ok && kept.message.message_type === "invocation_message" && kept.message.conversation_id, "c1");
    const absent = validateClientMessage({ ...base, conversation_id: null });
    assert.ok(absent.ok && absent.message.message_type === "invocation_message");
    assert.equal(absent.ok && "conversation_id" in absent.message && absent.message.conversation_id, undefined);
  });

  test("other field errors keep the invalid_field code", () => {
    const result = validateClientMessage({ ...base, model: 5, conversation_id: "c1" });
    assert.equal(result.ok, false);
    if (!result.ok) assert.equal(result.error.code, ErrorCode.InvalidField);
  });
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

describe("text the runtime hands to the operating system", () => {
  const refused: Record<string, [field: string, problem: RegExp]> = {
    "invocation_message.command-nul.json": ["pre_agent_invocation_commands[0].command", /NUL character/],
    "invocation_message.env-name-with-equals.json": [
      'post_agent_invocation_commands[0].env["A=B"]',
      /must not contain '='/,
    ],
    "invocation_message.agent-env-nul.json": ["agent_env.TOKEN", /NUL character/],
    "invocation_message.model-nul.json": ["model", /NUL character/],
    "invocation_message.working-dir-nul.json": ["pre_agent_downloadables[0].working_dir", /NUL character/],
    "invocation_message.artifacts-dirs-nul.json": ["artifacts_dirs[1]", /NUL character/],
    "command_execution_message.cwd-nul.json": ["commands[0].cwd", /NUL character/],
    "command_execution_message.env-name-empty.json": ['commands[0].env[""]', /must be non-empty/],
    "command_execution_message.artifacts-dir-nul.json": ["artifacts_dir", /NUL character/],
  };
  const fixtures = new Map(load("invalid").map(({ name, body }) => [name, body]));

  for (const [name, [field, problem]] of Object.entries(refused)) {
    test(`invalid/${name} is refused with invalid_field naming ${field}`, () => {
      assert.ok(fixtures.has(name), `missing fixture ${name}`);
      const result = validateClientMessage(fixtures.get(name));
      assert.equal(result.ok, false);
      if (result.ok) return;
      assert.equal(result.error.code, ErrorCode.InvalidField);
      assert.equal(result.error.field, field);
      assert.ok(result.error.message.startsWith(`${name.split(".")[0]}: ${field}: `), result.error.message);
      assert.match(result.error.message, problem);
    });
  }

  test("names and values without NUL or '=' in the name are kept as sent", () => {
    const env = { PATH: "/usr/bin", "MY-VAR.x": "a=b c", EMPTY: "" };
    const result = validateClientMessage({
      message_type: "command_execution_message",
      commands: [{ command: "env", cwd: "/tmp/dir with spaces", env }],
    });
    assert.ok(result.ok && result.message.message_type === "command_execution_message");
    assert.deepEqual(
      result.ok && result.message.message_type === "command_execution_message" && result.message.commands[0]?.env,
      env,
    );
  });
});
