import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { openaiHandler } from "../../src/handlers/index.js";
import {
  functionCall,
  functionCallOutput,
  message,
  reply,
  startScriptedOpenAI,
  type Turn,
  webSearch,
} from "../support/scripted/openai-responses.js";
import {
  assistantBlocks,
  invocation,
  isAlive,
  ofType,
  type Runtime,
  request,
  startRuntime,
  WAIT_MS,
  type WireMessage,
  waitUntil,
} from "./harness.js";

let runtime: Runtime;
let workDir: string;

before(async () => {
  runtime = await startRuntime(openaiHandler);
  workDir = await mkdtemp(join(tmpdir(), "runtimeuse-openai-"));
});
after(async () => {
  await runtime.stop();
  await rm(workDir, { recursive: true, force: true });
});

/** Runs one invocation against a fresh scripted model; the key and base URL travel in agent_env. */
async function run(script: Turn[], fields: Record<string, unknown> = {}) {
  const model = await startScriptedOpenAI(script);
  const client = await runtime.client();
  try {
    const { agent_env, ...rest } = fields;
    const outcome = await request(
      client,
      invocation({
        agent_env: { OPENAI_API_KEY: "sk-scripted", OPENAI_BASE_URL: model.baseURL, ...(agent_env as object) },
        ...rest,
      }),
    );
    return { ...outcome, requests: model.responseRequests() };
  } finally {
    await client.close();
    await model.close();
  }
}

describe("openai agent against a scripted Responses API", () => {
  test("a plain answer streams as one assistant_message and returns text with token usage in metadata", async () => {
    const { messages, terminal, requests } = await run(
      [reply([message("Hello from the model.")], { input: 21, output: 7 })],
      {
        system_prompt: "Be brief.",
        user_prompt: "Say hello",
        model: "gpt-test-1",
      },
    );
    assert.deepEqual(assistantBlocks(messages), ["Hello from the model."]);
    assert.equal(terminal.message_type, "result_message");
    assert.deepEqual(terminal.data, { type: "text", text: "Hello from the model." });
    const metadata = terminal.metadata as Record<string, unknown>;
    assert.deepEqual(metadata.usage, {
      input_tokens: 21,
      output_tokens: 7,
      cache_read_tokens: 0,
      cache_write_tokens: 0,
      model_calls: 1,
    });
    assert.equal(metadata.agent, "openai");

    assert.equal(requests.length, 1);
    const body = requests[0] as Record<string, unknown>;
    assert.equal(body.model, "gpt-test-1");
    assert.equal(body.instructions, "Be brief.");
    assert.equal(body.stream, true);
    const tools = body.tools as Array<Record<string, unknown>>;
    assert.ok(
      tools.some((t) => t.type === "function" && t.name === "shell" && t.strict === true),
      "shell tool offered",
    );
    assert.ok(
      tools.some((t) => t.type === "web_search"),
      "hosted web search offered",
    );
    assert.ok(JSON.stringify(body.input).includes("Say hello"));
  });

  test("a shell call runs a real command, streams its output with the agent's command, and the model gets it back", async () => {
    const command = "echo visible-stdout; echo visible-stderr >&2; exit 3";
    let seenByModel: string | undefined;
    const { messages, terminal } = await run([
      reply([message("Let me look."), functionCall("shell", { command, timeout_ms: null }, "call_a")]),
      (request) => {
        seenByModel = functionCallOutput(request.body, "call_a");
        return reply([message("The command failed with 3.")]);
      },
    ]);
    assert.equal(terminal.message_type, "result_message", JSON.stringify(terminal));
    assert.ok(seenByModel, "the second model request carries the function_call_output");
    assert.match(seenByModel, /exit_code: 3/);
    assert.match(seenByModel, /stdout:\nvisible-stdout/);
    assert.match(seenByModel, /stderr:\nvisible-stderr/);

    const output = ofType(messages, "command_output_message");
    assert.ok(
      output.every((m) => m.command === command),
      "every output message names the agent's command",
    );
    assert.equal(
      output
        .filter((m) => m.stream === "stdout")
        .map((m) => m.text)
        .join(""),
      "visible-stdout\n",
    );
    assert.equal(
      output
        .filter((m) => m.stream === "stderr")
        .map((m) => m.text)
        .join(""),
      "visible-stderr\n",
    );
    assert.deepEqual(assistantBlocks(messages), [
      "Let me look.",
      `[tool] shell: ${command}`,
      "The command failed with 3.",
    ]);
    // The tool call's block comes before the command's output.
    const firstOutput = messages.findIndex((m) => m.message_type === "command_output_message");
    const toolBlock = messages.findIndex(
      (m) => m.message_type === "assistant_message" && (m.text_blocks as string[])[0]?.startsWith("[tool]"),
    );
    assert.ok(toolBlock < firstOutput);
  });

  test("a hosted web search shows as a tool block with its query", async () => {
    const { messages, terminal, requests } = await run([
      reply([webSearch("runtimeuse sandbox"), message("Found it.")]),
    ]);
    assert.equal(terminal.message_type, "result_message", JSON.stringify(terminal));
    assert.deepEqual(assistantBlocks(messages), ["[tool] web_search_call: runtimeuse sandbox", "Found it."]);
    assert.equal(requests.length, 1, "the API ran the search itself; the agent did not call back");
  });

  test("agent_env is in the shell tool's environment", async () => {
    let seenByModel = "";
    const { messages, terminal } = await run(
      [
        reply([functionCall("shell", { command: 'printf "%s" "$PROBE_VALUE"', timeout_ms: null }, "call_env")]),
        (request) => {
          seenByModel = functionCallOutput(request.body, "call_env") ?? "";
          return reply([message("ok")]);
        },
      ],
      { agent_env: { PROBE_VALUE: "value-from-agent-env" } },
    );
    assert.equal(terminal.message_type, "result_message");
    assert.match(seenByModel, /stdout:\nvalue-from-agent-env/);
    const stdout = ofType(messages, "command_output_message")
      .map((m) => m.text)
      .join("");
    assert.equal(stdout, "value-from-agent-env");
  });

  test("long output reaches the model cut in the middle with a note, and reaches the client whole", async () => {
    let seenByModel = "";
    const { messages, terminal } = await run([
      reply([functionCall("shell", { command: "seq 1 20000", timeout_ms: null }, "call_long")]),
      (request) => {
        seenByModel = functionCallOutput(request.body, "call_long") ?? "";
        return reply([message("long")]);
      },
    ]);
    assert.equal(terminal.message_type, "result_message");
    assert.match(seenByModel, /characters omitted: the output was longer than 20000 characters/);
    assert.ok(seenByModel.startsWith("exit_code: 0\nstdout:\n1\n2\n3\n"));
    assert.ok(seenByModel.endsWith("19999\n20000\n"));
    assert.ok(seenByModel.length < 21_000);
    const streamed = ofType(messages, "command_output_message")
      .map((m) => m.text)
      .join("");
    assert.equal(streamed.split("\n").length, 20001);
  });

  test("a command past its timeout is killed and the model is told so", async () => {
    let seenByModel = "";
    const { terminal } = await run([
      reply([functionCall("shell", { command: "echo before; sleep 60", timeout_ms: 300 }, "call_slow")]),
      (request) => {
        seenByModel = functionCallOutput(request.body, "call_slow") ?? "";
        return reply([message("too slow")]);
      },
    ]);
    assert.equal(terminal.message_type, "result_message");
    assert.match(seenByModel, /note: the command was killed after its timeout of 300 ms/);
    assert.match(seenByModel, /stdout:\nbefore/);
  });

  test("an output schema is sent in strict form and the answer comes back as structured_output", async () => {
    const schema = {
      type: "object",
      title: "Answer",
      properties: {
        answer: { type: "string" },
        note: { type: "string" },
        tags: { type: "array", items: { type: "object", properties: { name: { type: "string" } } } },
      },
      required: ["answer"],
    };
    const { terminal, requests } = await run([reply([message('{"answer":"42","note":null,"tags":[{"name":null}]}')])], {
      output_format_json_schema_str: JSON.stringify({ type: "json_schema", schema }),
    });
    assert.equal(terminal.message_type, "result_message", JSON.stringify(terminal));
    assert.deepEqual(terminal.data, { type: "structured_output", structured_output: { answer: "42", tags: [{}] } });
    const format = ((requests[0]?.text ?? {}) as { format?: Record<string, unknown> }).format;
    assert.equal(format?.type, "json_schema");
    assert.equal(format?.strict, true);
    assert.equal(format?.name, "Answer");
    assert.deepEqual(format?.schema, {
      type: "object",
      title: "Answer",
      properties: {
        answer: { type: "string" },
        note: { type: ["string", "null"] },
        tags: {
          type: ["array", "null"],
          items: {
            type: "object",
            properties: { name: { type: ["string", "null"] } },
            required: ["name"],
            additionalProperties: false,
          },
        },
      },
      required: ["answer", "note", "tags"],
      additionalProperties: false,
    });
  });

  test("HTTP 401 from the API ends the request with one clear error_message and no result", async () => {
    const { messages, terminal, requests } = await run([
      { type: "http_error", status: 401, message: "Incorrect API key provided", errorType: "invalid_request_error" },
    ]);
    assert.equal(terminal.message_type, "error_message");
    assert.equal(terminal.error, "OpenAI API error (HTTP 401): Incorrect API key provided");
    assert.equal((terminal.metadata as Record<string, unknown>).status, 401);
    assert.equal((terminal.metadata as Record<string, unknown>).code, "handler_error");
    assert.equal(ofType(messages, "error_message").length, 1);
    assert.equal(ofType(messages, "result_message").length, 0);
    assert.equal(requests.length, 1, "a 401 is not retried");
  });

  test("HTTP 500 is retried by the SDK, then ends the request with one clear error_message", async () => {
    const failure: Turn = {
      type: "http_error",
      status: 500,
      message: "The server had an error",
      errorType: "server_error",
    };
    const { messages, terminal, requests } = await run([failure, failure, failure]);
    assert.equal(terminal.message_type, "error_message");
    assert.equal(terminal.error, "OpenAI API error (HTTP 500): The server had an error");
    assert.equal(ofType(messages, "error_message").length, 1);
    assert.equal(ofType(messages, "result_message").length, 0);
    assert.equal(requests.length, 3, "two retries, then the error");
  });

  test("a secret in the model's text is redacted in assistant messages and the result", async () => {
    const { messages, terminal } = await run([reply([message("The token is tok-SECRET-9f3a, keep it safe.")])], {
      secrets_to_redact: ["tok-SECRET-9f3a"],
    });
    assert.deepEqual(assistantBlocks(messages), ["The token is [REDACTED], keep it safe."]);
    assert.deepEqual(terminal.data, { type: "text", text: "The token is [REDACTED], keep it safe." });
    assert.ok(!JSON.stringify(messages).includes("tok-SECRET-9f3a"));
  });

  test("cancel while the model is answering aborts the model request", async () => {
    const model = await startScriptedOpenAI([{ type: "hang" }]);
    const client = await runtime.client();
    try {
      client.send(invocation({ agent_env: { OPENAI_API_KEY: "sk-scripted", OPENAI_BASE_URL: model.baseURL } }));
      await waitUntil(() => model.requests.length === 1, "the model request arrived");
      client.send({ message_type: "cancel_message" });
      const terminal = (await client.until("error_message", WAIT_MS)).at(-1) as WireMessage;
      assert.equal(terminal.error, "Request cancelled");
      await waitUntil(() => model.requests[0]?.clientClosed === true, "the SDK dropped the model request");
    } finally {
      await client.close();
      await model.close();
    }
  });

  test("cancel during a long shell command kills the command and its children", async () => {
    const pidFile = join(workDir, "openai-cancel.pid");
    const model = await startScriptedOpenAI([
      reply([functionCall("shell", { command: `sleep 300 & echo $! > ${pidFile}; wait`, timeout_ms: null })]),
      reply([message("should never be asked")]),
    ]);
    const client = await runtime.client();
    try {
      client.send(invocation({ agent_env: { OPENAI_API_KEY: "sk-scripted", OPENAI_BASE_URL: model.baseURL } }));
      let pid = 0;
      await waitUntil(() => {
        try {
          pid = Number.parseInt(readFileSync(pidFile, "utf8"), 10);
        } catch {
          return false;
        }
        return pid > 0;
      }, "the long command wrote its pid");
      assert.ok(isAlive(pid));
      client.send({ message_type: "cancel_message" });
      const terminal = (await client.until("error_message", WAIT_MS)).at(-1) as WireMessage;
      assert.equal(terminal.error, "Request cancelled");
      await waitUntil(() => !isAlive(pid), `sleep (pid ${pid}) is gone`);
      assert.equal(ofType(client.frames as WireMessage[], "result_message").length, 0);
      assert.equal(model.responseRequests().length, 1, "the model was not asked again after the cancel");
    } finally {
      await client.close();
      await model.close();
    }
  });
});
