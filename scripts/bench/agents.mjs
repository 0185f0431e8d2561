#!/usr/bin/env node
// Agent benchmark: the time from sending an invocation to the first
// assistant_message, per agent, on the built runtime CLI (a real child
// process) with each agent against a scripted model API on loopback
// (packages/runtimeuse/test/support/scripted/serve.ts, a child process too):
// echo, openai, claude, the scripted ACP agent (test/acp/support/scripted-agent.mjs,
// no model), and the ACP presets codex, claude-code and gemini. Per agent:
// the first request after startup, then the median of the later ones (the
// agent process reused). Target: the scripted ACP agent within 50 ms of echo
// on a later request.
//
// `node scripts/bench/agents.mjs [--quick] [--only a,b]`. Exits 0 when it ran
// (a missed target prints FAIL), 1 when it could not run.
import { spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { WebSocket } from "ws";
import { createReport } from "./lib/report.mjs";
import { assertBuilt, REPO_ROOT, RUNTIME_BIN, spawnListening } from "./lib/spawn.mjs";
import { median } from "./lib/stats.mjs";

const TARGET_MS = 50;
const SCRIPTED_SERVE = join(REPO_ROOT, "packages/runtimeuse/test/support/scripted/serve.ts");
const SCRIPTED_AGENT = join(REPO_ROOT, "packages/runtimeuse/test/acp/support/scripted-agent.mjs");
const quick = process.argv.includes("--quick");
const onlyAt = process.argv.indexOf("--only");
const only = onlyAt > 0 ? (process.argv[onlyAt + 1] ?? "").split(",") : undefined;
const LATER = quick ? 3 : 8;
const SLOW_LATER = quick ? 2 : 4;
const REQUEST_TIMEOUT_MS = 120_000;

assertBuilt();
const work = mkdtempSync(join(tmpdir(), "runtimeuse-bench-agents-"));
const report = createReport("agents", { quick });
const stops = [];

/** What each agent needs: its CLI args, its environment, its prompt, how many later requests. */
const AGENTS = {
  echo: async () => ({ args: ["--agent", "echo"], env: {}, later: LATER }),
  acp: async () => ({
    args: ["--agent", "acp", "--", process.execPath, SCRIPTED_AGENT],
    env: {},
    prompt: JSON.stringify({ scenario: "text", chunks: ["Hello from the scripted ACP agent."] }),
    later: LATER,
  }),
  openai: async () => {
    const model = await scripted("openai", openaiTurns());
    return { args: ["--agent", "openai"], env: { OPENAI_API_KEY: "sk-bench", OPENAI_BASE_URL: model }, later: LATER };
  },
  claude: async () => {
    const model = await scripted("anthropic", anthropicTurns());
    return { args: ["--agent", "claude"], env: claudeEnv(model), model: "claude-sonnet-4-5", later: SLOW_LATER };
  },
  codex: async () => {
    const model = await scripted("openai", openaiTurns());
    const home = join(work, "codex-home");
    mkdirSync(home, { recursive: true });
    writeFileSync(
      join(home, "config.toml"),
      `model_provider = "scripted"\n[model_providers.scripted]\nname = "scripted"\nbase_url = "${model}"\nenv_key = "OPENAI_API_KEY"\nwire_api = "responses"\n`,
    );
    return { args: ["--agent", "codex"], env: { CODEX_HOME: home, OPENAI_API_KEY: "sk-bench" }, later: SLOW_LATER };
  },
  "claude-code": async () => {
    const model = await scripted("anthropic", anthropicTurns());
    return { args: ["--agent", "claude-code"], env: claudeEnv(model), later: SLOW_LATER };
  },
  gemini: async () => {
    const model = await scripted("gemini", geminiTurns());
    return {
      args: ["--agent", "gemini"],
      env: { GEMINI_API_KEY: "bench", GOOGLE_GEMINI_BASE_URL: model },
      later: SLOW_LATER,
    };
  },
};

const results = {};
try {
  report.section("invocation sent -> first assistant_message (ms); the agent runs against a scripted model API");
  for (const [name, setup] of Object.entries(AGENTS)) {
    if (only && !only.includes(name)) continue;
    try {
      const figures = await measure(name, await setup());
      results[name] = figures;
      report.row(`${name}: startup (spawn -> listening)`, figures.startupMs, "ms");
      report.row(`${name}: first request`, figures.firstMs, "ms");
      report.row(`${name}: later requests (median of ${figures.laterMs.length})`, median(figures.laterMs), "ms");
    } catch (error) {
      report.row(
        `${name}`,
        "did not run",
        undefined,
        String(error instanceof Error ? error.message : error).slice(0, 300),
      );
    }
    await Promise.all(stops.splice(0).map((stop) => stop()));
  }
  if (results.echo && results.acp) {
    report.section("target");
    report.target({
      label: "scripted ACP agent - echo, later request (median)",
      value: median(results.acp.laterMs) - median(results.echo.laterMs),
      unit: "ms",
      op: "<=",
      limit: TARGET_MS,
    });
  }
} catch (error) {
  console.error(`\nagents bench failed to run: ${error instanceof Error ? (error.stack ?? error.message) : error}`);
  process.exitCode = 1;
} finally {
  await Promise.all(stops.splice(0).map((stop) => stop()));
  rmSync(work, { recursive: true, force: true });
}
report.finish();

async function measure(name, { args, env, prompt = "Say hello.", model = "gpt-bench", later }) {
  const home = mkdtempSync(join(work, `${name}-home-`));
  const runtime = await spawnListening({
    script: RUNTIME_BIN,
    args: ["--port", "0", "--host", "127.0.0.1", "--log-level", "warn", ...args],
    env: { PATH: process.env.PATH, HOME: home, ...env },
    readyTimeoutMs: 120_000,
  });
  stops.push(() => runtime.stop());
  const ws = await open(runtime.url);
  try {
    const firstMs = await firstAssistantMs(ws, prompt, model);
    const laterMs = [];
    for (let i = 0; i < later; i++) laterMs.push(await firstAssistantMs(ws, prompt, model));
    return { startupMs: runtime.startupMs, firstMs, laterMs };
  } finally {
    ws.close();
  }
}

function open(url) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { perMessageDeflate: false });
    ws.once("open", () => resolve(ws));
    ws.once("error", reject);
  });
}

/** Sends one invocation; resolves with the time to its first assistant_message, once its terminal arrived. */
function firstAssistantMs(ws, prompt, model) {
  return new Promise((resolve, reject) => {
    let first;
    const started = performance.now();
    const timer = setTimeout(() => done(new Error(`no terminal within ${REQUEST_TIMEOUT_MS} ms`)), REQUEST_TIMEOUT_MS);
    const onMessage = (data) => {
      const message = JSON.parse(String(data));
      if (message.message_type === "assistant_message") first ??= performance.now() - started;
      else if (message.message_type === "error_message") done(new Error(`error_message: ${message.error}`));
      else if (message.message_type === "result_message") {
        done(first === undefined ? new Error("the result came without an assistant_message") : undefined);
      }
    };
    const done = (error) => {
      clearTimeout(timer);
      ws.off("message", onMessage);
      if (error) reject(error);
      else resolve(first);
    };
    ws.on("message", onMessage);
    ws.send(
      JSON.stringify({ message_type: "invocation_message", system_prompt: "Be brief.", user_prompt: prompt, model }),
    );
  });
}

/** A scripted model API of serve.ts with `turns`; resolves with its base URL. */
async function scripted(api, turns) {
  const dir = mkdtempSync(join(work, `${api}-`));
  const scriptPath = join(dir, "script.json");
  writeFileSync(scriptPath, JSON.stringify(turns));
  const child = spawn(process.execPath, ["--import", "tsx", SCRIPTED_SERVE, api, scriptPath], {
    cwd: REPO_ROOT,
    stdio: ["ignore", "pipe", "ignore"],
  });
  stops.push(async () => {
    if (child.exitCode === null) child.kill("SIGTERM");
  });
  return new Promise((resolve, reject) => {
    let out = "";
    child.stdout.on("data", (chunk) => {
      out += chunk;
      const match = /listening (\S+)/.exec(out);
      if (match?.[1]) resolve(match[1]);
    });
    child.once("exit", (code) => reject(new Error(`scripted ${api} exited with ${code}`)));
  });
}

// Every turn the same text, so side requests (titles, checks) need no order.
function openaiTurns() {
  return Array.from({ length: 80 }, () => ({ type: "output", output: [{ type: "message", text: "Hello." }] }));
}
function anthropicTurns() {
  return Array.from({ length: 80 }, () => ({ type: "output", content: [{ type: "text", text: "Hello." }] }));
}
function geminiTurns() {
  return Array.from({ length: 80 }, () => ({ type: "output", parts: [{ text: "Hello." }] }));
}

function claudeEnv(model) {
  const config = mkdtempSync(join(work, "claude-config-"));
  return { ANTHROPIC_API_KEY: "sk-ant-bench", ANTHROPIC_BASE_URL: model, CLAUDE_CONFIG_DIR: config };
}
