import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import { findClaudeBinary } from "../../src/handlers/claude/check.js";
import {
  reply,
  startScriptedAnthropic,
  type Turn,
  text,
  toolResult,
  toolUse,
} from "../support/scripted/anthropic-messages.js";
import { useClaudeRuntime } from "./claude-rig.js";
import {
  assistantBlocks,
  descendants,
  invocation,
  isAlive,
  ofType,
  request,
  stillRunning,
  WAIT_MS,
  type WireMessage,
  waitUntil,
} from "./harness.js";

// The real Claude Code binary (shipped in the SDK's platform package) runs
// every test here, pointed at a scripted Messages API through ANTHROPIC_BASE_URL.
const binary = findClaudeBinary();

const claude = useClaudeRuntime("runtimeuse-claude-");

async function run(script: Turn[], fields: Record<string, unknown> = {}, extraEnv: Record<string, string> = {}) {
  const model = await startScriptedAnthropic(script);
  const client = await claude.runtime.client();
  try {
    const outcome = await request(
      client,
      invocation({ model: "claude-sonnet-4-5", agent_env: claude.env(model.baseURL, extraEnv), ...fields }),
    );
    return { ...outcome, requests: model.messageRequests() };
  } finally {
    await client.close();
    await model.close();
  }
}

describe("claude agent: the real Claude Code against a scripted Messages API", () => {
  test("a plain answer streams as an assistant_message; metadata has duration, turns, cost, usage, session id", async () => {
    const { messages, terminal, requests } = await run(
      [reply([text("Hello from Claude.")], { input: 30, output: 9 })],
      {
        system_prompt: "APPENDED-SYSTEM-PROMPT",
        user_prompt: "Say hello",
      },
    );
    assert.deepEqual(assistantBlocks(messages), ["Hello from Claude."]);
    assert.equal(terminal.message_type, "result_message", JSON.stringify(terminal));
    assert.deepEqual(terminal.data, { type: "text", text: "Hello from Claude." });
    const metadata = terminal.metadata as Record<string, unknown>;
    assert.equal(metadata.agent, "claude");
    assert.equal(typeof metadata.session_id, "string");
    assert.equal(typeof metadata.duration_ms, "number");
    assert.equal(metadata.num_turns, 1);
    assert.equal(typeof metadata.total_cost_usd, "number");
    const usage = metadata.usage as Record<string, unknown>;
    assert.equal(usage.input_tokens, 30);
    assert.equal(usage.output_tokens, 9);

    assert.equal(requests.length, 1);
    const body = requests[0] as Record<string, unknown>;
    assert.equal(body.model, "claude-sonnet-4-5");
    assert.equal(body.stream, true);
    assert.ok(JSON.stringify(body.system).includes("APPENDED-SYSTEM-PROMPT"), "system prompt appended");
    assert.ok(JSON.stringify(body.messages).includes("Say hello"));
    const tools = (body.tools as Array<{ name: string }>).map((t) => t.name);
    assert.ok(tools.includes("Bash"), `Claude Code tools offered: ${tools.join(",")}`);
  });

  test("a Bash call runs a real command with agent_env; the output reaches the model and streams with the command", async () => {
    const command = 'echo "probe=$PROBE_VALUE"; echo to-stderr >&2';
    let seenByModel: string | undefined;
    const { messages, terminal } = await run(
      [
        reply([text("Checking."), toolUse("Bash", { command, description: "print the probe" }, "toolu_probe")]),
        (request) => {
          seenByModel = toolResult(request.body, "toolu_probe");
          return reply([text("The probe is set.")]);
        },
      ],
      {},
      { PROBE_VALUE: "from-agent-env" },
    );
    assert.equal(terminal.message_type, "result_message", JSON.stringify(terminal));
    assert.ok(seenByModel, "the second request carries the tool_result");
    assert.match(seenByModel, /probe=from-agent-env/);
    assert.match(seenByModel, /to-stderr/);

    const output = ofType(messages, "command_output_message");
    assert.ok(output.length > 0, "the Bash output is streamed");
    assert.ok(
      output.every((m) => m.command === command),
      "output messages name the agent's command",
    );
    const streamed = output.map((m) => m.text).join("");
    assert.match(streamed, /probe=from-agent-env/);
    assert.match(streamed, /to-stderr/);
    assert.deepEqual(assistantBlocks(messages), ["Checking.", `[tool] Bash: ${command}`, "The probe is set."]);
  });

  test("a failing Bash command's report streams as stderr with its exit code", async () => {
    const command = "echo partial; exit 7";
    const { messages, terminal } = await run([
      reply([toolUse("Bash", { command, description: "fail" }, "toolu_fail")]),
      reply([text("It failed.")]),
    ]);
    assert.equal(terminal.message_type, "result_message");
    const output = ofType(messages, "command_output_message");
    assert.equal(output.length, 1);
    assert.equal(output[0]?.stream, "stderr");
    assert.equal(output[0]?.command, command);
    assert.match(String(output[0]?.text), /Exit code 7/);
    assert.match(String(output[0]?.text), /partial/);
  });

  test("an output schema makes Claude answer through its structured output tool; the answer is structured_output", async () => {
    const schema = { type: "object", properties: { answer: { type: "string" } }, required: ["answer"] };
    const { terminal, requests } = await run(
      [reply([toolUse("StructuredOutput", { answer: "42" })]), reply([text("Done.")])],
      { output_format_json_schema_str: JSON.stringify({ type: "json_schema", schema }) },
    );
    assert.equal(terminal.message_type, "result_message", JSON.stringify(terminal));
    assert.deepEqual(terminal.data, { type: "structured_output", structured_output: { answer: "42" } });
    const offered = ((requests[0]?.tools ?? []) as Array<{ name: string; input_schema: unknown }>).find(
      (t) => t.name === "StructuredOutput",
    );
    assert.deepEqual(offered?.input_schema, schema);
  });

  test("HTTP 401 from the API ends the request with exactly one clear error_message and no result", async () => {
    // Claude Code retries even a 401 unless told not to; agent_env reaches its environment.
    const { messages, terminal, requests } = await run(
      [{ type: "http_error", status: 401, message: "invalid x-api-key", errorType: "authentication_error" }],
      {},
      { CLAUDE_CODE_MAX_RETRIES: "0" },
    );
    assert.equal(requests.length, 1);
    assert.equal(terminal.message_type, "error_message");
    assert.match(String(terminal.error), /^Anthropic API error \(HTTP 401\): /);
    const metadata = terminal.metadata as Record<string, unknown>;
    assert.equal(metadata.status, 401);
    assert.equal(metadata.code, "handler_error");
    assert.equal(typeof metadata.session_id, "string");
    assert.equal(ofType(messages, "error_message").length, 1);
    assert.equal(ofType(messages, "result_message").length, 0);
    assert.deepEqual(assistantBlocks(messages), [], "Claude Code's error notice is not streamed as assistant text");
  });

  test("HTTP 500 (after Claude Code's retries) ends the request with exactly one clear error_message", async () => {
    const failure: Turn = { type: "http_error", status: 500, message: "Internal server error", errorType: "api_error" };
    const { messages, terminal, requests } = await run([failure, failure], {}, { CLAUDE_CODE_MAX_RETRIES: "1" });
    assert.equal(terminal.message_type, "error_message");
    assert.match(String(terminal.error), /^Anthropic API error \(HTTP 500\): /);
    assert.equal(ofType(messages, "error_message").length, 1);
    assert.equal(ofType(messages, "result_message").length, 0);
    assert.equal(requests.length, 2, "one retry, then the error");
  });

  test("a secret in the model's text is redacted in assistant messages and the result", async () => {
    const { messages, terminal } = await run([reply([text("Your key is sk-live-SECRET-77, do not share.")])], {
      secrets_to_redact: ["sk-live-SECRET-77"],
    });
    assert.deepEqual(assistantBlocks(messages), ["Your key is [REDACTED], do not share."]);
    assert.deepEqual(terminal.data, { type: "text", text: "Your key is [REDACTED], do not share." });
    assert.ok(!JSON.stringify(messages).includes("sk-live-SECRET-77"));
  });

  test("cancel during a long Bash command ends Claude Code and every process it started", async () => {
    const pidFile = join(claude.dir, "claude-cancel.pid");
    const model = await startScriptedAnthropic([
      // The long process runs in a session of its own and ignores SIGTERM, so
      // only the runtime's SIGKILL of the whole tree ends it. (Claude Code
      // refuses a command that starts with a long `sleep`; `tail -f` waits as long.)
      reply([
        toolUse("Bash", {
          command: `setsid -w sh -c 'trap "" TERM; echo $$ > ${pidFile}; exec tail -f /dev/null' & wait`,
          description: "wait long",
        }),
      ]),
      reply([text("should never be asked")]),
    ]);
    const client = await claude.runtime.client();
    try {
      const before = new Set(descendants().map((p) => `${p.pid}:${p.start}`));
      client.send(invocation({ model: "claude-sonnet-4-5", agent_env: claude.env(model.baseURL) }));
      let longPid = 0;
      await waitUntil(() => {
        try {
          longPid = Number.parseInt(readFileSync(pidFile, "utf8"), 10);
        } catch {
          return false;
        }
        return longPid > 0;
      }, "the long command wrote its pid");
      const started = descendants().filter((p) => !before.has(`${p.pid}:${p.start}`));
      assert.ok(
        started.some((p) => p.pid === longPid),
        "the long command runs below the runtime",
      );
      assert.ok(
        started.some((p) => p.command.includes(binary ?? "claude")),
        `Claude Code runs below the runtime: ${JSON.stringify(started)}`,
      );

      client.send({ message_type: "cancel_message" });
      const terminal = (await client.until("error_message", WAIT_MS)).at(-1) as WireMessage;
      assert.equal(terminal.error, "Request cancelled");
      await waitUntil(() => started.every((p) => !stillRunning(p)), "Claude Code and all it started are gone");
      assert.ok(!isAlive(longPid));
      assert.equal(ofType(client.frames as WireMessage[], "result_message").length, 0);
    } finally {
      await client.close();
      await model.close();
    }
  });
});
