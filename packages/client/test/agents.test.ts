import assert from "node:assert/strict";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { type CliRun, startCli } from "../../runtimeuse/test/agents/cli.js";
import type { ScriptedAnthropic } from "../../runtimeuse/test/support/scripted/anthropic-messages.js";
import {
  reply as claudeReply,
  startScriptedAnthropic,
  text,
} from "../../runtimeuse/test/support/scripted/anthropic-messages.js";
import {
  message,
  reply,
  type ScriptedOpenAI,
  startScriptedOpenAI,
} from "../../runtimeuse/test/support/scripted/openai-responses.js";
import { AgentRuntimeError, RuntimeUseClient } from "../src/node.js";

// `runtimeuse --agent openai,claude,codex`, each agent against a scripted
// model API, and the client's `agent` option choosing one per query.

let dir: string;
let cli: CliRun;
let openai: ScriptedOpenAI;
let codexModel: ScriptedOpenAI;
let anthropic: ScriptedAnthropic;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), "runtimeuse-client-agents-"));
  openai = await startScriptedOpenAI([reply([message("from openai")]), reply([message("from openai again")])]);
  // Codex also asks the model for a session title: every answer is the same.
  codexModel = await startScriptedOpenAI([reply([message("from codex")]), reply([message("from codex")])]);
  anthropic = await startScriptedAnthropic([claudeReply([text("from claude")])]);
  const codexHome = join(dir, "codex-home");
  const claudeConfig = join(dir, "claude-config");
  await mkdir(codexHome, { recursive: true });
  await mkdir(claudeConfig, { recursive: true });
  await writeFile(
    join(codexHome, "config.toml"),
    `model_provider = "scripted"\n[model_providers.scripted]\nname = "scripted"\nbase_url = "${codexModel.baseURL}"\nenv_key = "OPENAI_API_KEY"\nwire_api = "responses"\n`,
  );
  cli = await startCli(["--agent", "openai,claude,codex", "--port", "0", "--host", "127.0.0.1"], {
    PATH: process.env.PATH,
    HOME: dir,
    OPENAI_API_KEY: "sk-scripted",
    OPENAI_BASE_URL: openai.baseURL,
    ANTHROPIC_API_KEY: "sk-ant-scripted",
    ANTHROPIC_BASE_URL: anthropic.baseURL,
    CLAUDE_CONFIG_DIR: claudeConfig,
    CODEX_HOME: codexHome,
  });
  assert.ok(cli.url, `the runtime started: ${cli.stderr()}`);
});
after(async () => {
  await cli.stop();
  await Promise.all([openai.close(), codexModel.close(), anthropic.close()]);
  await rm(dir, { recursive: true, force: true });
});

describe("the agent option", () => {
  test("each query runs on the agent it names; without one, on the first listed", async () => {
    const client = new RuntimeUseClient({ url: cli.url as string });
    const options = { systemPrompt: "You are a test.", model: "gpt-scripted" };
    assert.deepEqual((await client.query("hi", { ...options, agent: "openai" })).data, {
      type: "text",
      text: "from openai",
    });
    const claude = await client.query("hi", { ...options, model: "claude-sonnet-4-5", agent: "claude" });
    assert.deepEqual(claude.data, { type: "text", text: "from claude" });
    assert.equal(claude.metadata.agent, "claude");
    const codex = await client.query("hi", { ...options, agent: "codex" });
    assert.deepEqual(codex.data, { type: "text", text: "from codex" });
    assert.equal(codex.metadata.agent, "codex");
    const byDefault = await client.query("hi", options);
    assert.deepEqual(byDefault.data, { type: "text", text: "from openai again" });
    assert.equal(byDefault.metadata.agent, "openai");
  });

  test("an agent the runtime did not start fails with code unknown_agent", async () => {
    const client = new RuntimeUseClient({ url: cli.url as string });
    await assert.rejects(
      client.query("hi", { systemPrompt: "s", model: "m", agent: "gemini" }),
      (error: unknown) =>
        error instanceof AgentRuntimeError &&
        error.code === "unknown_agent" &&
        /unknown agent "gemini": this runtime runs "openai", "claude", "codex"/.test(error.message),
    );
  });
});
