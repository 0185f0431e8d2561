import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { checkClaude } from "../../src/handlers/claude/check.js";
import { checkOpenAI } from "../../src/handlers/openai/check.js";
import { reply as claudeReply, startScriptedAnthropic, text } from "../support/scripted/anthropic-messages.js";
import { message, reply, startScriptedOpenAI } from "../support/scripted/openai-responses.js";
import { startCli } from "./cli.js";
import { assistantBlocks, invocation, RawClient, request } from "./harness.js";

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), "runtimeuse-cli-agents-"));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** The environment of a CLI child: PATH and HOME only, plus what the test sets. */
function cleanEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  return { PATH: process.env.PATH, HOME: process.env.HOME, ...extra };
}

const SDKS = ["@openai/agents", "@anthropic-ai/claude-agent-sdk"];
function sdksLoaded(logFile: string): string[] {
  let text = "";
  try {
    text = readFileSync(logFile, "utf8");
  } catch {}
  const seen = new Set(text.split("\n"));
  return SDKS.filter((sdk) => seen.has(sdk));
}

describe("built-in agents in the CLI", () => {
  test("--agent openai without OPENAI_API_KEY exits with code 2 and one line naming the variable", async () => {
    const cli = await startCli(["--agent", "openai", "--port", "0"], cleanEnv({}));
    assert.equal(await cli.exited, 2);
    assert.equal(cli.url, undefined);
    const lines = cli.stderr().trim().split("\n");
    assert.equal(lines.length, 1, cli.stderr());
    assert.match(lines[0] as string, /OPENAI_API_KEY/);
  });

  test("the default agent is openai, its SDK alone is loaded, and it reaches the API at OPENAI_BASE_URL", async () => {
    const model = await startScriptedOpenAI([reply([message("answer via the CLI")])]);
    const loaderLog = join(dir, "openai-loads.log");
    const cli = await startCli(
      ["--port", "0", "--host", "127.0.0.1"],
      cleanEnv({ OPENAI_API_KEY: "sk-scripted", OPENAI_BASE_URL: model.baseURL }),
      loaderLog,
    );
    try {
      assert.ok(cli.url, `the CLI started: ${cli.stderr()}`);
      const client = await RawClient.connect(cli.url);
      const { messages, terminal } = await request(client, invocation({ model: "gpt-cli" }));
      await client.close();
      assert.deepEqual(assistantBlocks(messages), ["answer via the CLI"]);
      assert.deepEqual(terminal.data, { type: "text", text: "answer via the CLI" });
      assert.equal(model.responseRequests()[0]?.model, "gpt-cli");
      assert.deepEqual(sdksLoaded(loaderLog), ["@openai/agents"]);
    } finally {
      assert.equal(await cli.stop(), 0);
      await model.close();
    }
  });

  test("--agent echo loads neither SDK", async () => {
    const loaderLog = join(dir, "echo-loads.log");
    const cli = await startCli(["--agent", "echo", "--port", "0", "--host", "127.0.0.1"], cleanEnv({}), loaderLog);
    try {
      assert.ok(cli.url, cli.stderr());
      const client = await RawClient.connect(cli.url);
      const { terminal } = await request(client, invocation({ user_prompt: "ping" }));
      await client.close();
      assert.deepEqual(terminal.data, { type: "text", text: "ping" });
      assert.deepEqual(sdksLoaded(loaderLog), []);
    } finally {
      await cli.stop();
    }
  });

  test("--agent claude without ANTHROPIC_API_KEY starts with a warning; a key in agent_env then suffices", async () => {
    const model = await startScriptedAnthropic([claudeReply([text("answer from Claude via the CLI")])]);
    const configDir = join(dir, "claude-config");
    await mkdir(configDir, { recursive: true });
    const cli = await startCli(
      ["--agent", "claude", "--port", "0", "--host", "127.0.0.1"],
      cleanEnv({ ANTHROPIC_BASE_URL: model.baseURL, CLAUDE_CONFIG_DIR: configDir }),
    );
    try {
      assert.ok(cli.url, `the CLI started: ${cli.stderr()}`);
      assert.match(cli.stderr(), /runtimeuse: warning: ANTHROPIC_API_KEY is not set/);
      const client = await RawClient.connect(cli.url);
      const { messages, terminal } = await request(
        client,
        invocation({ model: "claude-sonnet-4-5", agent_env: { ANTHROPIC_API_KEY: "sk-ant-scripted" } }),
      );
      await client.close();
      assert.equal(terminal.message_type, "result_message", JSON.stringify(terminal));
      assert.deepEqual(assistantBlocks(messages), ["answer from Claude via the CLI"]);
      const headers = model.requests.find((r) => r.path.startsWith("/v1/messages"))?.headers;
      assert.equal(headers?.["x-api-key"], "sk-ant-scripted");
    } finally {
      assert.equal(await cli.stop(), 0);
      await model.close();
    }
  });
});

describe("startup checks", () => {
  test("openai: a missing or blank OPENAI_API_KEY is an error; a set one passes", () => {
    assert.match(checkOpenAI({}).error ?? "", /needs OPENAI_API_KEY/);
    assert.match(checkOpenAI({ OPENAI_API_KEY: "  " }).error ?? "", /needs OPENAI_API_KEY/);
    assert.deepEqual(checkOpenAI({ OPENAI_API_KEY: "sk-x" }), {});
  });

  test("claude: a missing binary is an error naming the npm package that ships it", () => {
    const result = checkClaude({ ANTHROPIC_API_KEY: "k" }, () => undefined);
    assert.match(
      result.error ?? "",
      /cannot find the Claude Code binary: the npm package @anthropic-ai\/claude-agent-sdk-/,
    );
  });

  test("claude: missing credentials are a warning only; any of the credential variables counts", () => {
    const found = () => "/bin/true";
    assert.equal(checkClaude({}, found).error, undefined);
    assert.match(checkClaude({}, found).warnings?.[0] ?? "", /ANTHROPIC_API_KEY is not set/);
    assert.deepEqual(checkClaude({ ANTHROPIC_API_KEY: "k" }, found), {});
    assert.deepEqual(checkClaude({ CLAUDE_CODE_OAUTH_TOKEN: "t" }, found), {});
  });

  test("claude: the binary shipped with the SDK is found here", () => {
    assert.deepEqual(checkClaude({ ANTHROPIC_API_KEY: "k" }), {});
  });
});
