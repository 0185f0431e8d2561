import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import type { AcpHandler } from "../../src/handlers/acp/handler.js";
import type { AcpPresetName } from "../../src/handlers/acp/presets.js";
import { startAcpAgent } from "../../src/index.js";
import { assistantBlocks, invocation, ofType, type Runtime, request, startRuntime } from "../agents/harness.js";
import {
  reply as claudeReply,
  startScriptedAnthropic,
  text,
  toolResult,
  toolUse,
} from "../support/scripted/anthropic-messages.js";
import { geminiCall, geminiReply, geminiText, startScriptedGemini } from "../support/scripted/gemini.js";
import type { RecordedRequest } from "../support/scripted/http.js";
import {
  functionCall,
  functionCallOutput,
  message,
  reply,
  startScriptedOpenAI,
} from "../support/scripted/openai-responses.js";
import { memorySink } from "../support/server.js";

// The real ACP adapters (devDependencies), each against a scripted model API
// on loopback: a plain answer, then one tool call that runs a real command.

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), "runtimeuse-acp-adapters-"));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function startPreset(
  name: AcpPresetName,
  env: Record<string, string>,
): Promise<{ runtime: Runtime; handler: AcpHandler; logs: string[] }> {
  const logs: string[] = [];
  // HOME is a fresh directory: the agent reads no profile or settings of this machine.
  const home = await mkdtemp(join(dir, `${name}-home-`));
  // As an embedder starts a preset: by its name, from the package installed beside runtimeuse.
  let handler: AcpHandler;
  try {
    handler = await startAcpAgent(name, {
      cwd: dir,
      baseEnv: { PATH: process.env.PATH, HOME: home, ...env },
      logSink: memorySink(logs),
    });
  } catch (error) {
    throw new Error(`${name} did not start: ${String(error)}\n${logs.join("\n")}`);
  }
  return { runtime: await startRuntime(handler), handler, logs };
}

describe("codex preset: codex-acp against a scripted Responses API", () => {
  test("a text answer, then a shell command Codex runs itself: its output streams with the command line", async () => {
    const codexHome = await mkdtemp(join(dir, "codex-home-"));
    let seen: string | undefined;
    const model = await startScriptedOpenAI(
      conversation(
        [
          reply([message("Hello from Codex.")], { input: 40, output: 6 }),
          reply([functionCall("exec_command", { cmd: "echo probe=$PROBE_VALUE" }, "call_probe")]),
          (recorded: RecordedRequest) => {
            seen = functionCallOutput(recorded.body, "call_probe");
            return reply([message("The probe is set.")]);
          },
        ],
        reply([message('{"title": "A title"}')]),
      ),
    );
    await writeFile(
      join(codexHome, "config.toml"),
      [
        'model_provider = "scripted"',
        'model = "gpt-scripted"',
        "[model_providers.scripted]",
        'name = "scripted"',
        `base_url = "${model.baseURL}"`,
        'env_key = "OPENAI_API_KEY"',
        'wire_api = "responses"',
        "",
      ].join("\n"),
    );
    const { runtime, handler } = await startPreset("codex", { CODEX_HOME: codexHome, OPENAI_API_KEY: "sk-scripted" });
    try {
      const client = await runtime.client();
      const first = await request(client, invocation({ user_prompt: "Say hello", model: "gpt-scripted" }));
      assert.equal(first.terminal.message_type, "result_message", JSON.stringify(first.terminal));
      assert.deepEqual(first.terminal.data, { type: "text", text: "Hello from Codex." });
      const usage = (first.terminal.metadata as Record<string, unknown>).usage as Record<string, number>;
      assert.equal(usage.input_tokens, 40);
      assert.equal(usage.output_tokens, 6);
      assert.match(JSON.stringify(model.responseRequests()[0]?.input), /Say hello/);

      const second = await request(
        client,
        invocation({
          user_prompt: "Check the probe",
          model: "gpt-scripted",
          agent_env: { PROBE_VALUE: "from-agent-env" },
        }),
      );
      assert.equal(second.terminal.message_type, "result_message", JSON.stringify(second.terminal));
      assert.match(String(seen), /probe=from-agent-env/);
      const blocks = assistantBlocks(second.messages);
      assert.ok(blocks.includes("[tool] exec_command: echo probe=$PROBE_VALUE"), JSON.stringify(blocks));
      assert.equal(blocks.at(-1), "The probe is set.");
      const output = ofType(second.messages, "command_output_message");
      assert.ok(output.length > 0);
      assert.ok(output.every((m) => m.command === "echo probe=$PROBE_VALUE"));
      assert.match(output.map((m) => m.text).join(""), /probe=from-agent-env/);
    } finally {
      await runtime.stop();
      await handler.close();
      await model.close();
    }
  });
});

/**
 * Both adapters have their agent write a title for each new session, a model
 * request of its own: those get `title`, the conversation's requests take the
 * script's turns in order.
 */
function conversation<R>(
  turns: Array<R | ((request: RecordedRequest) => R)>,
  title: R,
): Array<(request: RecordedRequest) => R> {
  let next = 0;
  const route = (recorded: RecordedRequest): R => {
    if (/Write the title|creating a title/.test(JSON.stringify(recorded.body))) return title;
    const turn = turns[next++];
    if (turn === undefined) throw new Error("the scripted conversation is over");
    return typeof turn === "function" ? (turn as (request: RecordedRequest) => R)(recorded) : turn;
  };
  return Array.from({ length: turns.length * 3 }, () => route);
}

describe("claude-code preset: claude-agent-acp against a scripted Messages API", () => {
  test("a text answer with the system prompt appended, then a Bash call whose output streams with the command line", async () => {
    const configDir = await mkdtemp(join(dir, "claude-config-"));
    let seen: string | undefined;
    const model = await startScriptedAnthropic(
      conversation(
        [
          claudeReply([text("Hello from Claude Code.")], { input: 30, output: 9 }),
          claudeReply([toolUse("Bash", { command: "echo claude-probe", description: "probe" }, "toolu_probe")]),
          (recorded: RecordedRequest) => {
            seen = toolResult(recorded.body, "toolu_probe");
            return claudeReply([text("Probe done.")]);
          },
        ],
        claudeReply([text("A title")]),
      ),
    );
    const { runtime, handler } = await startPreset("claude-code", {
      ANTHROPIC_BASE_URL: model.baseURL,
      ANTHROPIC_API_KEY: "sk-ant-scripted",
      CLAUDE_CONFIG_DIR: configDir,
    });
    try {
      const client = await runtime.client();
      const first = await request(
        client,
        invocation({ system_prompt: "APPENDED-SYSTEM-PROMPT", user_prompt: "Say hello" }),
      );
      assert.equal(first.terminal.message_type, "result_message", JSON.stringify(first.terminal));
      assert.deepEqual(first.terminal.data, { type: "text", text: "Hello from Claude Code." });
      const body = model.messageRequests()[0] as Record<string, unknown>;
      assert.ok(
        JSON.stringify(body.system).includes("APPENDED-SYSTEM-PROMPT"),
        "the system prompt reaches Claude's system prompt",
      );
      const usage = (first.terminal.metadata as Record<string, unknown>).usage as Record<string, number>;
      assert.equal(usage.input_tokens, 30);
      assert.equal(usage.output_tokens, 9);
      assert.equal(typeof usage.cost_usd, "number");

      const second = await request(client, invocation({ user_prompt: "Run the probe" }));
      assert.equal(second.terminal.message_type, "result_message", JSON.stringify(second.terminal));
      assert.match(String(seen), /claude-probe/);
      const blocks = assistantBlocks(second.messages);
      assert.deepEqual(blocks, ["[tool] Bash: echo claude-probe", "Probe done."]);
      const output = ofType(second.messages, "command_output_message");
      assert.ok(
        output.every((m) => m.command === "echo claude-probe"),
        JSON.stringify(output),
      );
      assert.match(output.map((m) => m.text).join(""), /claude-probe/);
    } finally {
      await runtime.stop();
      await handler.close();
      await model.close();
    }
  });
});

describe("gemini preset: Gemini CLI in ACP mode against a scripted Gemini API", () => {
  test("a text answer, then a shell command Gemini CLI runs itself (it reports no output; the model gets it)", async () => {
    let seen = "";
    const model = await startScriptedGemini([
      geminiReply([geminiText("Hello from Gemini.")]),
      geminiReply([geminiCall("run_shell_command", { command: "echo gemini-probe", description: "probe" })]),
      (recorded) => {
        seen = JSON.stringify(recorded.body?.contents);
        return geminiReply([geminiText("Probe done.")]);
      },
    ]);
    const { runtime, handler } = await startPreset("gemini", {
      GOOGLE_GEMINI_BASE_URL: model.baseURL,
      GEMINI_API_KEY: "scripted-key",
    });
    try {
      const client = await runtime.client();
      const first = await request(client, invocation({ system_prompt: "GEMINI-SYSTEM", user_prompt: "Say hello" }));
      assert.equal(first.terminal.message_type, "result_message", JSON.stringify(first.terminal));
      assert.deepEqual(first.terminal.data, { type: "text", text: "Hello from Gemini." });
      const sent = JSON.stringify(model.conversationRequests()[0]);
      assert.match(sent, /<system-instructions>\\nGEMINI-SYSTEM\\n<\/system-instructions>/);
      assert.match(sent, /Say hello/);

      const second = await request(client, invocation({ user_prompt: "Run the probe" }));
      assert.equal(second.terminal.message_type, "result_message", JSON.stringify(second.terminal));
      assert.match(seen, /gemini-probe/, "the command ran and its output went back to the model");
      assert.deepEqual(assistantBlocks(second.messages), ["[tool] execute: echo gemini-probe", "Probe done."]);
    } finally {
      await runtime.stop();
      await handler.close();
      await model.close();
    }
  });
});
