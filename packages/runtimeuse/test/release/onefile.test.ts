import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { copyFile, mkdir, mkdtemp, readFile, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { after, before, describe, test } from "node:test";
import { promisify } from "node:util";
import { AgentRuntimeError, RuntimeUseClient } from "runtimeuse-client/node";
import { AGENT_PACKAGES } from "../../src/handlers/agent-packages.js";
import { reply as claudeReply, startScriptedAnthropic, text } from "../support/scripted/anthropic-messages.js";
import { message, reply, startScriptedOpenAI } from "../support/scripted/openai-responses.js";
import { cleanEnv, startListening } from "./support/process.js";
import { builtRelease, ROOT } from "./support/release.js";

const run = promisify(execFile);
const AGENT = { systemPrompt: "You are a test.", model: "test-model" } as const;
const LOOPBACK = ["--port", "0", "--host", "127.0.0.1"];

let dir: string;
let alone: string;

/** A folder holding nothing but a copy of runtimeuse.mjs, with no node_modules in it or above it. */
async function folderWithOneFile(name: string): Promise<string> {
  const folder = join(dir, name);
  await mkdir(folder);
  await copyFile((await builtRelease()).oneFile, join(folder, "runtimeuse.mjs"));
  for (let up = folder; up !== dirname(up); up = dirname(up)) {
    assert.ok(!existsSync(join(up, "node_modules")), `${up} has a node_modules folder`);
  }
  return folder;
}

before(async () => {
  dir = await mkdtemp(join(tmpdir(), "ru-onefile-"));
  alone = await folderWithOneFile("alone");
});

after(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe("runtimeuse.mjs, the runtime as one file", () => {
  test("runs with nothing but node from an empty folder: --version, and the echo agent answers", async () => {
    const { stdout } = await run(process.execPath, ["runtimeuse.mjs", "--version"], { cwd: alone, env: cleanEnv() });
    const { version } = JSON.parse(await readFile(join(ROOT, "packages/runtimeuse/package.json"), "utf8"));
    assert.equal(stdout.trim(), version);
    const runtime = await startListening(process.execPath, ["runtimeuse.mjs", "--agent", "echo", ...LOOPBACK], {
      cwd: alone,
      env: cleanEnv(),
    });
    try {
      const answer = await new RuntimeUseClient({ url: runtime.url }).query("one file", AGENT);
      assert.deepEqual(answer.data, { type: "text", text: "one file" });
    } finally {
      assert.deepEqual(await runtime.stop(), { code: 0, signal: null });
    }
  });

  test("loads a .ts handler with no node_modules around: enums, imports from runtimeuse (the running file), .ts files imported as .js, extensionless and as folders, and stack lines of the .ts source", async () => {
    const handlerDir = join(alone, "handler");
    await mkdir(join(handlerDir, "lib"), { recursive: true });
    await writeFile(
      join(handlerDir, "tone.ts"),
      'export enum Tone {\n  Loud = "LOUD",\n  Quiet = "quiet",\n}\nexport const apply = (tone: Tone, text: string): string =>\n  tone === Tone.Loud ? text.toUpperCase() : text;\n',
    );
    await writeFile(join(handlerDir, "lib/index.ts"), 'export const suffix = (): string => "!";\n');
    await writeFile(
      join(handlerDir, "fail.ts"),
      'interface Nothing {}\nexport function fail(): never {\n  throw new Error("failed at " + new Error().stack?.split("\\n")[1]?.trim());\n}\n',
    );
    await writeFile(
      join(handlerDir, "agent.ts"),
      [
        'import { type AgentHandler, echoHandler } from "runtimeuse";',
        'import { apply, Tone } from "./tone.js";',
        'import { suffix } from "./lib";',
        'import { fail } from "./fail";',
        "const handler: AgentHandler = {",
        "  async run(invocation, sender) {",
        '    if (invocation.userPrompt === "fail") fail();',
        '    if (invocation.userPrompt.startsWith("echo ")) return echoHandler.run(invocation, sender);',
        '    return { type: "text", text: apply(Tone.Loud, invocation.userPrompt) + suffix() };',
        "  },",
        "};",
        "export default handler;",
      ].join("\n"),
    );
    const runtime = await startListening(
      process.execPath,
      ["runtimeuse.mjs", "--handler", "handler/agent.ts", ...LOOPBACK],
      {
        cwd: alone,
        env: cleanEnv(),
      },
    );
    try {
      const client = new RuntimeUseClient({ url: runtime.url });
      assert.deepEqual((await client.query("typed", AGENT)).data, { type: "text", text: "TYPED!" });
      // `runtimeuse` itself resolves to the running file, with no package installed anywhere.
      assert.deepEqual((await client.query("echo back", AGENT)).data, { type: "text", text: "echo back" });
      const failure = await client.query("fail", AGENT).then(
        () => assert.fail("the handler's error did not reach the client"),
        (error: unknown) => error,
      );
      assert.ok(failure instanceof AgentRuntimeError, String(failure));
      assert.match(failure.error, /failed at at fail \(file:\/\/.*\/handler\/fail\.ts:3:\d+\)/);
    } finally {
      await runtime.stop();
    }
  });

  test("loads .mjs handlers with no node_modules around: one importing runtimeuse (the running file), one made of its own modules", async () => {
    const handlerDir = join(alone, "mjs-handlers");
    await mkdir(handlerDir);
    await writeFile(
      join(handlerDir, "wraps.mjs"),
      'import { echoHandler } from "runtimeuse";\nexport default { run: async (invocation, sender) => ({ ...(await echoHandler.run(invocation, sender)), text: "wrapped" }) };\n',
    );
    await writeFile(
      join(handlerDir, "own.mjs"),
      'import { shout } from "./shout.mjs";\nexport default async (invocation) => ({ type: "text", text: shout(invocation.userPrompt) });\n',
    );
    await writeFile(join(handlerDir, "shout.mjs"), "export const shout = (text) => text.toUpperCase();\n");
    for (const [file, expected] of [
      ["wraps.mjs", "wrapped"],
      ["own.mjs", "SAY IT"],
    ] as const) {
      const runtime = await startListening(
        process.execPath,
        ["runtimeuse.mjs", "--handler", `mjs-handlers/${file}`, ...LOOPBACK],
        {
          cwd: alone,
          env: cleanEnv(),
        },
      );
      try {
        assert.deepEqual((await new RuntimeUseClient({ url: runtime.url }).query("say it", AGENT)).data, {
          type: "text",
          text: expected,
        });
      } finally {
        assert.deepEqual(await runtime.stop(), { code: 0, signal: null });
      }
    }
  });

  test("--agent claude without its SDK prints one line with the command that installs it beside the file", async () => {
    const failed = await run(process.execPath, ["runtimeuse.mjs", "--agent", "claude"], { cwd: alone, env: cleanEnv() })
      .then(() => assert.fail("started without the SDK"))
      .catch((error: { code?: number; stderr?: string }) => error);
    assert.equal(failed.code, 2);
    const range = AGENT_PACKAGES.claude?.[0]?.range;
    assert.equal(
      failed.stderr,
      `runtimeuse: the claude agent needs @anthropic-ai/claude-agent-sdk, which is not installed; install with: npm install --prefix ${alone} '@anthropic-ai/claude-agent-sdk@${range}'\n`,
    );
  });

  test("agent SDKs installed in a node_modules beside the file load on first use: the openai and claude agents answer through scripted APIs", async () => {
    const folder = await folderWithOneFile("with-sdks");
    // The monorepo's node_modules holds both SDKs (dev dependencies), as an `npm install --prefix` would.
    await symlink(join(ROOT, "node_modules"), join(folder, "node_modules"));
    const openai = await startScriptedOpenAI([reply([message("from the OpenAI SDK")])]);
    const anthropic = await startScriptedAnthropic([claudeReply([text("from the Claude SDK")])]);
    const configDir = join(folder, "claude-config");
    await mkdir(configDir);
    const env = cleanEnv({
      OPENAI_API_KEY: "sk-scripted",
      OPENAI_BASE_URL: openai.baseURL,
      ANTHROPIC_API_KEY: "sk-ant-scripted",
      ANTHROPIC_BASE_URL: anthropic.baseURL,
      CLAUDE_CONFIG_DIR: configDir,
    });
    try {
      for (const [agent, expected] of [
        ["openai", "from the OpenAI SDK"],
        ["claude", "from the Claude SDK"],
      ] as const) {
        const runtime = await startListening(process.execPath, ["runtimeuse.mjs", "--agent", agent, ...LOOPBACK], {
          cwd: folder,
          env,
        });
        try {
          const answer = await new RuntimeUseClient({ url: runtime.url }).query("hello", AGENT);
          assert.deepEqual(answer.data, { type: "text", text: expected }, runtime.stderr());
        } finally {
          await runtime.stop();
        }
      }
    } finally {
      await openai.close();
      await anthropic.close();
    }
  });
});
