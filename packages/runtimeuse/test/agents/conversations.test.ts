import assert from "node:assert/strict";
import { mkdir, mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { type CliChild, startCli } from "../security/support.js";
import * as anthropic from "../support/scripted/anthropic-messages.js";
import type { RecordedRequest } from "../support/scripted/http.js";
import * as openai from "../support/scripted/openai-responses.js";
import { descendants, invocation, RawClient, request, waitUntil } from "./harness.js";

// Each agent runs in the built CLI (a child process, so it can be killed with
// SIGKILL), its SDK against a scripted model API. One conversation, four runs:
// 1 uses a tool, 2 (another connection) must see 1, 3 is killed with the
// runtime mid-run, 4 (a fresh runtime on the same state dir, started in another
// working directory) must see 1 and 2 and nothing of 3.

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), "runtimeuse-agent-conversations-"));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

interface Scripted {
  baseURL: string;
  requests: RecordedRequest[];
  close(): Promise<void>;
}

interface AgentCase {
  agent: "openai" | "claude";
  model: string;
  /** The model turns of run 1: a tool call printing `output`, then `answer`. */
  startModel(turns: { output: string; answer: string; run2: string; run4: string }): Promise<Scripted>;
  /** The conversation as the model request shows it (input items or messages), as text. */
  history(body: Record<string, unknown> | undefined): string;
  /** The tool call of run 1 and its output are in this request, as the API's own items. */
  assertToolCallCarried(body: Record<string, unknown> | undefined, output: string): void;
  env(baseURL: string, configDir: string): Record<string, string>;
}

const CALL_ID = "call_run1_shell";
const TOOL_USE_ID = "toolu_run1_bash";

const cases: AgentCase[] = [
  {
    agent: "openai",
    model: "gpt-scripted",
    startModel: async ({ output, answer, run2, run4 }) => {
      const model = await openai.startScriptedOpenAI([
        openai.reply([openai.functionCall("shell", { command: `echo ${output}`, timeout_ms: null }, CALL_ID)]),
        openai.reply([openai.message(answer)]),
        openai.reply([openai.message(run2)]),
        { type: "hang" },
        openai.reply([openai.message(run4)]),
      ]);
      return { baseURL: model.baseURL, requests: model.requests, close: () => model.close() };
    },
    history: (body) => JSON.stringify(body?.input ?? null),
    assertToolCallCarried: (body, output) => {
      const input = (body?.input ?? []) as Array<Record<string, unknown>>;
      const call = input.find((item) => item.type === "function_call" && item.call_id === CALL_ID);
      assert.equal(call?.name, "shell", "the function call is replayed");
      assert.match(openai.functionCallOutput(body, CALL_ID) ?? "", new RegExp(output), "with its output");
    },
    env: (baseURL) => ({ OPENAI_API_KEY: "sk-scripted", OPENAI_BASE_URL: baseURL }),
  },
  {
    agent: "claude",
    model: "claude-sonnet-4-5",
    startModel: async ({ output, answer, run2, run4 }) => {
      const model = await anthropic.startScriptedAnthropic([
        anthropic.reply([anthropic.toolUse("Bash", { command: `echo ${output}`, description: "print" }, TOOL_USE_ID)]),
        anthropic.reply([anthropic.text(answer)]),
        anthropic.reply([anthropic.text(run2)]),
        { type: "hang" },
        anthropic.reply([anthropic.text(run4)]),
      ]);
      return { baseURL: model.baseURL, requests: model.requests, close: () => model.close() };
    },
    history: (body) => JSON.stringify(body?.messages ?? null),
    assertToolCallCarried: (body, output) => {
      const messages = (body?.messages ?? []) as Array<{ content?: unknown }>;
      const blocks = messages.flatMap((m) =>
        Array.isArray(m.content) ? (m.content as Record<string, unknown>[]) : [],
      );
      const use = blocks.find((block) => block.type === "tool_use" && block.id === TOOL_USE_ID);
      assert.equal(use?.name, "Bash", "the tool call is replayed");
      assert.match(anthropic.toolResult(body, TOOL_USE_ID) ?? "", new RegExp(output), "with its output");
    },
    env: (baseURL, configDir) => ({
      ANTHROPIC_API_KEY: "sk-ant-scripted",
      ANTHROPIC_BASE_URL: baseURL,
      CLAUDE_CONFIG_DIR: configDir,
    }),
  },
];

const modelCalls = (model: Scripted) =>
  model.requests.filter((r) => r.method === "POST" && /^\/v1\/(responses|messages)/.test(r.path));

async function jsonlFilesUnder(root: string): Promise<string[]> {
  try {
    return (await readdir(root, { recursive: true })).filter((name) => name.endsWith(".jsonl"));
  } catch {
    return [];
  }
}

describe("built-in agents continue a conversation across connections and a killed runtime", () => {
  for (const agentCase of cases) {
    test(`${agentCase.agent}: run 2 sees run 1's prompt, answer, tool call and output; after kill -9 in run 3 a fresh runtime continues from run 2`, async () => {
      const home = join(dir, agentCase.agent);
      const stateDir = join(home, "state");
      const configDir = join(home, "claude-config");
      await mkdir(configDir, { recursive: true });
      const words = {
        output: `TOOL-OUTPUT-${agentCase.agent}`,
        answer: "RUN1-ANSWER",
        run2: "RUN2-ANSWER",
        run4: "RUN4-ANSWER",
      };
      const model = await agentCase.startModel(words);
      const args = ["--agent", agentCase.agent, "--state-dir", stateDir];
      const env = { HOME: home, ...agentCase.env(model.baseURL, configDir) };
      const runs: CliChild[] = [];
      const ask = async (url: string, prompt: string) => {
        const client = await RawClient.connect(url);
        try {
          const { terminal } = await request(
            client,
            invocation({ model: agentCase.model, user_prompt: prompt, conversation_id: "c1" }),
          );
          assert.equal(terminal.message_type, "result_message", JSON.stringify(terminal));
          return terminal;
        } finally {
          await client.close();
        }
      };
      try {
        const work = join(home, "work");
        await mkdir(work);
        const first = await startCli(args, env, work);
        runs.push(first);
        const one = await ask(first.url, "RUN1-PROMPT: print something");
        assert.deepEqual(one.data, { type: "text", text: words.answer });
        if (agentCase.agent === "claude") {
          assert.deepEqual(
            await jsonlFilesUnder(join(configDir, "projects")),
            [],
            "no transcript left outside the state dir",
          );
        }
        const two = await ask(first.url, "RUN2-PROMPT: and then?");
        assert.deepEqual(two.data, { type: "text", text: words.run2 });

        const seenInRun2 = modelCalls(model)[2]?.body;
        for (const part of ["RUN1-PROMPT", words.answer, words.output, "RUN2-PROMPT"]) {
          assert.ok(agentCase.history(seenInRun2).includes(part), `run 2's model request carries ${part}`);
        }
        agentCase.assertToolCallCarried(seenInRun2, words.output);

        // Run 3: the model never answers; the runtime (and what it started) is killed meanwhile.
        const client = await RawClient.connect(first.url);
        client.send(invocation({ model: agentCase.model, user_prompt: "RUN3-PROMPT: lost", conversation_id: "c1" }));
        await waitUntil(() => modelCalls(model).length === 4, "run 3 to reach the model");
        const started = descendants(first.child.pid);
        first.child.kill("SIGKILL");
        for (const child of started) {
          try {
            process.kill(child.pid, "SIGKILL");
          } catch {}
        }
        await first.exited;
        client.ws.terminate();
        const saved = (await readFile(join(stateDir, "conversations", "c1.jsonl"), "utf8")).trimEnd().split("\n");
        assert.equal(saved.length, 3, "the header and runs 1 and 2");
        const entries = saved.slice(1).flatMap((line) => (JSON.parse(line) as { append?: unknown[] }).append ?? []);
        const uuids = entries.map((entry) => (entry as { entry?: { uuid?: string } }).entry?.uuid).filter(Boolean);
        assert.equal(
          new Set(uuids).size,
          uuids.length,
          "a resumed run adds its own lines only, no copy of earlier ones",
        );

        const elsewhere = join(home, "elsewhere");
        await mkdir(elsewhere);
        const second = await startCli(args, env, elsewhere);
        runs.push(second);
        const four = await ask(second.url, "RUN4-PROMPT: still there?");
        assert.deepEqual(four.data, { type: "text", text: words.run4 });
        const seenInRun4 = agentCase.history(modelCalls(model)[4]?.body);
        for (const part of ["RUN1-PROMPT", words.answer, words.output, "RUN2-PROMPT", words.run2, "RUN4-PROMPT"]) {
          assert.ok(seenInRun4.includes(part), `run 4's model request carries ${part}`);
        }
        assert.ok(!seenInRun4.includes("RUN3-PROMPT"), "nothing of the killed run 3");
      } finally {
        for (const run of runs) {
          if (run.child.exitCode === null && run.child.signalCode === null) run.child.kill("SIGTERM");
          await run.exited;
        }
        await model.close();
      }
    });
  }
});
