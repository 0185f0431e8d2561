import assert from "node:assert/strict";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { extractJsonObject } from "../../src/handlers/acp/structured.js";
import { ofType, request } from "../agents/harness.js";
import { type AcpRuntime, scenario, startAcpRuntime } from "./support/runtime.js";

const schema = {
  type: "object",
  properties: { answer: { type: "integer" }, unit: { type: "string" } },
  required: ["answer"],
  additionalProperties: false,
};
const outputFormat = { output_format_json_schema_str: JSON.stringify({ type: "json_schema", schema }) };

let runtime: AcpRuntime;
let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), "runtimeuse-acp-structured-"));
  runtime = await startAcpRuntime();
});
after(async () => {
  await runtime.stop();
  await rm(dir, { recursive: true, force: true });
});

describe("acp: structured output (asked for in the prompt, validated with ajv)", () => {
  test("a valid answer is the structured_output; the prompt carried the schema", async () => {
    const promptFile = join(dir, "prompts.jsonl");
    const client = await runtime.client();
    const { terminal } = await request(
      client,
      scenario({ scenario: "json", answers: ['{"answer": 42, "unit": "m"}'], promptFile }, outputFormat),
    );
    assert.equal(terminal.message_type, "result_message", JSON.stringify(terminal));
    assert.deepEqual(terminal.data, { type: "structured_output", structured_output: { answer: 42, unit: "m" } });
    const texts = JSON.parse((await readFile(promptFile, "utf8")).trim()) as string[];
    assert.match(texts.at(-1) ?? "", /answer with one JSON object that validates against the JSON Schema below/);
    assert.deepEqual(JSON.parse((texts.at(-1) ?? "").slice((texts.at(-1) ?? "").indexOf("{"))), schema);
    assert.equal(((terminal.metadata as Record<string, unknown>).usage as Record<string, unknown>).model_calls, 1);
  });

  test("an invalid answer gets one corrective turn; the corrected answer is the result", async () => {
    const client = await runtime.client();
    const { terminal } = await request(
      client,
      scenario(
        { scenario: "json", answers: ['{"answer": "forty-two"}', '```json\n{"answer": 42}\n```'] },
        outputFormat,
      ),
    );
    assert.equal(terminal.message_type, "result_message", JSON.stringify(terminal));
    assert.deepEqual(terminal.data, { type: "structured_output", structured_output: { answer: 42 } });
    const usage = (terminal.metadata as Record<string, unknown>).usage as Record<string, number>;
    assert.equal(usage.model_calls, 2, "two turns");
    assert.equal(usage.input_tokens, 22);
  });

  test("the corrective turn lists every problem of the answer, not only the first", async () => {
    const promptFile = join(dir, "corrective-prompts.jsonl");
    const client = await runtime.client();
    const { terminal } = await request(
      client,
      scenario(
        {
          scenario: "json",
          answers: ['{"answer": "forty-two", "unit": 7, "extra": true}', '{"answer": 42}'],
          promptFile,
        },
        outputFormat,
      ),
    );
    assert.equal(terminal.message_type, "result_message", JSON.stringify(terminal));
    const lines = (await readFile(promptFile, "utf8")).trim().split("\n");
    const corrective = (JSON.parse(lines.at(-1) ?? "[]") as string[]).join("\n");
    assert.match(corrective, /^Your answer is not a JSON object that validates/);
    for (const problem of [
      "- /answer must be integer",
      "- /unit must be string",
      "- the object must NOT have additional properties",
    ]) {
      assert.ok(corrective.includes(problem), `${problem} missing from:\n${corrective}`);
    }
  });

  test("invalid twice: one error_message with code invalid_structured_output naming what was wrong", async () => {
    const client = await runtime.client();
    const { messages, terminal } = await request(
      client,
      scenario({ scenario: "json", answers: ["no json here", '{"answer": 1, "extra": true}'] }, outputFormat),
    );
    assert.equal(terminal.message_type, "error_message");
    const metadata = terminal.metadata as Record<string, unknown>;
    assert.equal(metadata.code, "invalid_structured_output");
    assert.match(String(terminal.error), /does not match the output schema: .*additional properties/);
    assert.deepEqual(metadata.validation_errors, ["the object must NOT have additional properties"]);
    assert.equal(ofType(messages, "error_message").length, 1);
  });

  test("the answer's JSON object is found as the whole text, in a code fence, or between prose", () => {
    assert.deepEqual(extractJsonObject('{"a": 1}'), { ok: true, value: { a: 1 } });
    assert.deepEqual(extractJsonObject('Here:\n```json\n{"a": 2}\n```\nDone.'), { ok: true, value: { a: 2 } });
    assert.deepEqual(extractJsonObject('The result is {"a": 3}.'), { ok: true, value: { a: 3 } });
    assert.deepEqual(extractJsonObject("[1, 2]"), { ok: false, problem: "the answer holds no JSON object" });
    assert.deepEqual(extractJsonObject("  "), { ok: false, problem: "the answer is empty" });
  });
});
