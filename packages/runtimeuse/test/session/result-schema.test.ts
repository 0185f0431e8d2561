import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import type { AgentHandler, AgentInvocation } from "../../src/handler.js";
import { startCli } from "../security/support.js";
import { type Frame, invocation, RawClient } from "../support/client.js";
import { startTestServer, type TestServer } from "../support/server.js";

const ANSWER = { type: "object", properties: { answer: { type: "integer" } }, required: ["answer"] };

/** Returns the prompt parsed as JSON as structured output, or as text when the prompt starts with "text:". */
const calls: AgentInvocation[] = [];
const handler: AgentHandler = {
  async run(inv) {
    calls.push(inv);
    if (inv.userPrompt.startsWith("text:")) return { type: "text", text: inv.userPrompt.slice(5) };
    return { type: "structured_output", structuredOutput: JSON.parse(inv.userPrompt) as Record<string, unknown> };
  },
};

describe("structured results are validated against the request's JSON Schema", () => {
  let server: TestServer;
  let client: RawClient;
  before(async () => {
    server = await startTestServer({ handler });
    client = await RawClient.connect(server.url);
  });
  after(async () => {
    await client.close();
    await server.close();
  });

  async function ask(prompt: string, schema: unknown): Promise<Frame> {
    client.send(invocation({ user_prompt: prompt, output_format_json_schema_str: JSON.stringify(schema) }));
    return (await client.untilTerminal()).terminal;
  }

  test("a matching result passes, in the wrapper and the bare form", async () => {
    for (const schema of [ANSWER, { type: "json_schema", schema: ANSWER }]) {
      const terminal = await ask('{"answer": 42}', schema);
      assert.deepEqual(terminal.data, { type: "structured_output", structured_output: { answer: 42 } });
    }
  });

  test("a mismatch ends the request with invalid_result naming the first failing path", async () => {
    const wrong = await ask('{"answer": "forty-two"}', ANSWER);
    assert.equal(wrong.message_type, "error_message");
    assert.equal(
      wrong.error,
      "the handler's structured_output does not match the output schema: at /answer: must be integer",
    );
    assert.deepEqual(wrong.metadata, { code: "invalid_result", path: "/answer" });
    const missing = await ask('{"other": 1}', { type: "json_schema", schema: ANSWER });
    assert.deepEqual(missing.metadata, { code: "invalid_result", path: "/answer" });
    assert.match(String(missing.error), /at \/answer: must have required property 'answer'/);
    const nested = { type: "object", properties: { items: { type: "array", items: { type: "string" } } } };
    assert.deepEqual((await ask('{"items": ["a", 2]}', nested)).metadata, { code: "invalid_result", path: "/items/1" });
  });

  test("a pattern that would backtrack for hours is checked at once, and the connection serves on", async () => {
    const backtracking = { type: "object", properties: { word: { type: "string", pattern: "^(a+)+$" } } };
    const wrong = await ask(JSON.stringify({ word: `${"a".repeat(1_000)}!` }), backtracking);
    assert.equal(
      wrong.error,
      'the handler\'s structured_output does not match the output schema: at /word: must match pattern "^(a+)+$"',
    );
    assert.deepEqual(wrong.metadata, { code: "invalid_result", path: "/word" });
    const right = await ask('{"word": "aaaa"}', backtracking);
    assert.deepEqual(right.data, { type: "structured_output", structured_output: { word: "aaaa" } });
  });

  test("a text result when a schema was requested is invalid_result", async () => {
    const terminal = await ask("text:hello", ANSWER);
    assert.equal(terminal.message_type, "error_message");
    assert.equal((terminal.metadata as Record<string, unknown>).code, "invalid_result");
    assert.match(String(terminal.error), /returned text, but the request asked for structured_output/);
  });

  test("draft-07 and 2020-12 schemas are each read by their own rules; formats are checked", async () => {
    const draft07 = {
      $schema: "http://json-schema.org/draft-07/schema#",
      type: "object",
      properties: { pair: { type: "array", items: [{ type: "string" }, { type: "integer" }] } },
    };
    assert.equal((await ask('{"pair": ["a", 1]}', draft07)).message_type, "result_message");
    assert.deepEqual((await ask('{"pair": ["a", "b"]}', draft07)).metadata, {
      code: "invalid_result",
      path: "/pair/1",
    });
    const draft2020 = {
      $schema: "https://json-schema.org/draft/2020-12/schema",
      type: "object",
      properties: { pair: { type: "array", prefixItems: [{ type: "string" }, { type: "integer" }] } },
    };
    assert.equal((await ask('{"pair": ["a", 1]}', draft2020)).message_type, "result_message");
    assert.deepEqual((await ask('{"pair": ["a", "b"]}', draft2020)).metadata, {
      code: "invalid_result",
      path: "/pair/1",
    });
    const email = { type: "object", properties: { to: { type: "string", format: "email" } } };
    assert.equal((await ask('{"to": "a@example.com"}', email)).message_type, "result_message");
    assert.deepEqual((await ask('{"to": "nobody"}', email)).metadata, { code: "invalid_result", path: "/to" });
  });

  test("a schema the validator cannot compile is refused with invalid_field before the handler runs", async () => {
    const before = calls.length;
    const terminal = await ask('{"answer": 1}', { type: "objekt" });
    assert.equal(terminal.message_type, "error_message");
    assert.deepEqual(terminal.metadata, { code: "invalid_field", field: "output_format_json_schema_str" });
    assert.match(String(terminal.error), /^output_format_json_schema_str: not a usable JSON Schema: /);
    assert.equal(calls.length, before, "the handler was not called");
  });
});

test("the CLI's echo agent checks its parsed prompt against the schema the same way", async () => {
  const cli = await startCli(["--agent", "echo"]);
  try {
    const client = await RawClient.connect(cli.url);
    const schema = JSON.stringify(ANSWER);
    client.send(invocation({ user_prompt: '{"answer": 3}', output_format_json_schema_str: schema }));
    assert.deepEqual((await client.untilTerminal()).terminal.data, {
      type: "structured_output",
      structured_output: { answer: 3 },
    });
    client.send(invocation({ user_prompt: '{"answer": 3.5}', output_format_json_schema_str: schema }));
    const wrong = (await client.untilTerminal()).terminal;
    assert.deepEqual(wrong.metadata, { code: "invalid_result", path: "/answer" });
    await client.close();
  } finally {
    cli.child.kill("SIGTERM");
    assert.deepEqual(await cli.exited, { code: 0, signal: null });
  }
});
