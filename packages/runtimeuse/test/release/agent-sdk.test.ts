import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { promisify } from "node:util";
import { RuntimeUseClient } from "runtimeuse-client/node";
import { AGENT_PACKAGES } from "../../src/handlers/agent-packages.js";
import { reply, startScriptedAnthropic, text } from "../support/scripted/anthropic-messages.js";
import { message, reply as replyResponses, startScriptedOpenAI } from "../support/scripted/openai-responses.js";
import { installRuntime } from "./support/install.js";
import { cleanEnv, startListening } from "./support/process.js";
import { type LocalRegistry, startLocalRegistry } from "./support/registry.js";
import { builtRelease, ROOT } from "./support/release.js";

const run = promisify(execFile);

let dir: string;
let registry: LocalRegistry | undefined;
let prefix: string;
let bin: string;
let cache: string;

before(async () => {
  const { runtime } = await builtRelease();
  dir = await mkdtemp(join(tmpdir(), "ru-agent-sdk-"));
  cache = join(dir, "npm-cache");
  registry = await startLocalRegistry(ROOT);
  prefix = join(dir, "prefix");
  bin = await installRuntime(runtime, prefix, registry, cache);
});

after(async () => {
  await registry?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe("an agent SDK next to a global install of the release tarball", () => {
  test("--agent claude without its SDK prints one line with the install command; running it makes the globally installed runtime find the SDK and answer", async () => {
    const missing = await run(bin, ["--agent", "claude"], { env: cleanEnv() }).then(
      () => assert.fail("the claude agent started without its SDK"),
      (error: { code?: number; stderr?: string }) => error,
    );
    assert.equal(missing.code, 2);
    const lines = (missing.stderr ?? "").trimEnd().split("\n");
    assert.equal(lines.length, 1, missing.stderr);
    const expected = `npm install -g --prefix ${prefix} '@anthropic-ai/claude-agent-sdk@${AGENT_PACKAGES.claude?.[0]?.range}'`;
    assert.equal(
      lines[0],
      `runtimeuse: the claude agent needs @anthropic-ai/claude-agent-sdk, which is not installed; install with: ${expected}`,
    );

    // The hint's command as printed, run by a shell against the local registry.
    await run("sh", ["-c", expected], {
      env: { ...process.env, npm_config_registry: registry?.url, npm_config_cache: cache, npm_config_audit: "false" },
      timeout: 240_000,
    });
    const model = await startScriptedAnthropic([reply([text("Claude, found next to the global runtimeuse")])]);
    const configDir = join(dir, "claude-config");
    await mkdir(configDir);
    const claude = await startListening(bin, ["--agent", "claude", "--port", "0", "--host", "127.0.0.1"], {
      cwd: dir,
      env: cleanEnv({
        ANTHROPIC_BASE_URL: model.baseURL,
        ANTHROPIC_API_KEY: "sk-ant-scripted",
        CLAUDE_CONFIG_DIR: configDir,
      }),
    });
    try {
      const blocks: string[] = [];
      const answer = await new RuntimeUseClient({ url: claude.url }).query("say where you were found", {
        systemPrompt: "You are a test.",
        model: "claude-sonnet-4-5",
        onAssistantMessage: ({ textBlocks }) => void blocks.push(...textBlocks),
      });
      assert.equal(answer.data.type, "text");
      assert.deepEqual(blocks, ["Claude, found next to the global runtimeuse"]);
      assert.ok(model.requests.some((request) => request.path.startsWith("/v1/messages")));
    } finally {
      await claude.stop();
      await model.close();
    }
  });

  test("--agent openai without its SDK prints the install command; run as printed, the global runtime loads the SDK (zod beside it) and answers", async () => {
    const missing = await run(bin, ["--agent", "openai"], { env: cleanEnv({ OPENAI_API_KEY: "sk-scripted" }) }).then(
      () => assert.fail("the openai agent started without its SDK"),
      (error: { code?: number; stderr?: string }) => error,
    );
    assert.equal(missing.code, 2);
    const line = (missing.stderr ?? "").trimEnd();
    const command = line.slice(line.indexOf("install with: ") + "install with: ".length);
    assert.equal(
      command,
      `npm install -g --prefix ${prefix} '@openai/agents@^0.20.0' 'openai@^7.59.0' 'zod@^4.0.0'`,
      line,
    );

    await run("sh", ["-c", command], {
      env: { ...process.env, npm_config_registry: registry?.url, npm_config_cache: cache, npm_config_audit: "false" },
      timeout: 240_000,
    });
    const model = await startScriptedOpenAI([replyResponses([message("OpenAI, found next to the global runtimeuse")])]);
    const openai = await startListening(bin, ["--agent", "openai", "--port", "0", "--host", "127.0.0.1"], {
      cwd: dir,
      env: cleanEnv({ OPENAI_API_KEY: "sk-scripted", OPENAI_BASE_URL: model.baseURL }),
    });
    try {
      const answer = await new RuntimeUseClient({ url: openai.url }).query("say where you were found", {
        systemPrompt: "You are a test.",
        model: "gpt-scripted",
      });
      assert.deepEqual(answer.data, { type: "text", text: "OpenAI, found next to the global runtimeuse" });
    } finally {
      await openai.stop();
      await model.close();
    }
  });
});
