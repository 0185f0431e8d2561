import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { openaiHandler } from "../../src/handlers/index.js";
import { invocation, isAlive, type Runtime, startRuntime, WAIT_MS } from "../agents/harness.js";
import type { RawClient } from "../support/client.js";
import {
  functionCall,
  functionCallOutput,
  message,
  reply,
  type ScriptedOpenAI,
  startScriptedOpenAI,
  type Turn,
} from "../support/scripted/openai-responses.js";
import { answerApproval, startedPid, untilType, usageOf } from "./support.js";

let runtime: Runtime;
let dir: string;
before(async () => {
  runtime = await startRuntime(openaiHandler);
  dir = await mkdtemp(join(tmpdir(), "runtimeuse-hitl-openai-"));
});
after(async () => {
  await runtime.stop();
  await rm(dir, { recursive: true, force: true });
});

async function session(
  script: Turn[],
): Promise<{ model: ScriptedOpenAI; client: RawClient; send: (fields?: Record<string, unknown>) => void }> {
  const model = await startScriptedOpenAI(script);
  const client = await runtime.client();
  const send = (fields: Record<string, unknown> = {}) =>
    client.send(
      invocation({
        user_prompt: "do it",
        agent_env: { OPENAI_API_KEY: "sk-scripted", OPENAI_BASE_URL: model.baseURL },
        ...fields,
      }),
    );
  return { model, client, send };
}

/** A model that calls the shell once with `command`, then answers with what it read back. */
function shellOnce(command: string, seen: { output?: string }): Turn[] {
  return [
    reply([message("Running it."), functionCall("shell", { command, timeout_ms: null }, "call_1")], {
      input: 11,
      output: 3,
    }),
    (request) => {
      seen.output = functionCallOutput(request.body, "call_1");
      return reply([message("Done.")], { input: 20, output: 4, cached: 8 });
    },
  ];
}

describe("openai agent: approvals, interrupt and usage against a scripted Responses API", () => {
  test("with allow_questions the model can ask the user (ask_user); the answer is its tool output", async () => {
    let seen: string | undefined;
    const { model, client, send } = await session([
      reply([
        functionCall(
          "ask_user",
          {
            question: "Which database should I use?",
            header: "Database",
            options: [
              { label: "Postgres", description: "relational" },
              { label: "SQLite", description: null },
            ],
            multi_select: null,
          },
          "call_q",
        ),
      ]),
      (request) => {
        seen = functionCallOutput(request.body, "call_q");
        return reply([message("Postgres it is.")]);
      },
    ]);
    try {
      send({ allow_questions: true });
      const question = await untilType(client, "question_request_message");
      assert.equal(question.question, "Which database should I use?");
      assert.equal(question.header, "Database");
      assert.deepEqual(question.options, [{ label: "Postgres", description: "relational" }, { label: "SQLite" }]);
      assert.equal(question.multi_select, undefined);
      client.send({ message_type: "question_response_message", request_id: question.request_id, answer: "Postgres" });
      const { terminal } = await client.untilTerminal(WAIT_MS);
      assert.equal(terminal.message_type, "result_message", JSON.stringify(terminal));
      assert.equal(seen, "The user answered: Postgres");
      const tools = (model.responseRequests()[0]?.tools ?? []) as Array<{ name?: string }>;
      assert.ok(tools.some((tool) => tool.name === "ask_user"));
    } finally {
      await model.close();
    }
  });

  test("an ask_user question nobody answers in time: the model reads why and goes on", async () => {
    let seen: string | undefined;
    const { model, client, send } = await session([
      reply([
        functionCall(
          "ask_user",
          { question: "Deploy now?", header: null, options: null, multi_select: null },
          "call_q",
        ),
      ]),
      (request) => {
        seen = functionCallOutput(request.body, "call_q");
        return reply([message("I will not deploy.")]);
      },
    ]);
    try {
      send({ allow_questions: true, approval_timeout_ms: 200 });
      const question = await untilType(client, "question_request_message");
      assert.equal(question.question, "Deploy now?");
      assert.equal(question.options, undefined);
      const { terminal } = await client.untilTerminal(WAIT_MS);
      assert.equal(terminal.message_type, "result_message", JSON.stringify(terminal));
      assert.match(seen ?? "", /200 ms/);
      assert.doesNotMatch(seen ?? "", /The user answered/);
    } finally {
      await model.close();
    }
  });

  test("without allow_questions the model is not offered ask_user", async () => {
    const { model, client, send } = await session([reply([message("Nothing to ask.")])]);
    try {
      send();
      const { terminal } = await client.untilTerminal(WAIT_MS);
      assert.equal(terminal.message_type, "result_message", JSON.stringify(terminal));
      const tools = (model.responseRequests()[0]?.tools ?? []) as Array<{ name?: string }>;
      assert.deepEqual(
        tools.map((tool) => tool.name ?? "(hosted)").filter((name) => name !== "(hosted)"),
        ["shell"],
      );
    } finally {
      await model.close();
    }
  });

  test("allow: the shell call waits for the client, then runs; the model gets its output", async () => {
    const marker = join(dir, "allowed");
    const seen: { output?: string } = {};
    const { model, client, send } = await session(shellOnce(`touch ${marker}`, seen));
    try {
      send({ approval_policy: ["shell"] });
      const request = await answerApproval(client, "allow");
      assert.equal(request.tool_name, "shell");
      assert.equal(request.tool_kind, "execute");
      assert.deepEqual(request.input, { command: `touch ${marker}`, timeout_ms: null });
      const { terminal } = await client.untilTerminal(WAIT_MS);
      assert.equal(terminal.message_type, "result_message", JSON.stringify(terminal));
      assert.ok(existsSync(marker));
      assert.match(seen.output ?? "", /^exit_code: 0/);
    } finally {
      await model.close();
    }
  });

  test("deny: the command does not run and the model's next request carries the denial with the client's message", async () => {
    const marker = join(dir, "denied");
    const seen: { output?: string } = {};
    const { model, client, send } = await session(shellOnce(`touch ${marker}`, seen));
    try {
      send({ approval_policy: "always" });
      await answerApproval(client, "deny", "use the staging box");
      const { terminal } = await client.untilTerminal(WAIT_MS);
      assert.equal(terminal.message_type, "result_message", JSON.stringify(terminal));
      assert.ok(!existsSync(marker));
      assert.equal(seen.output, "The user denied this tool call: use the staging box");
    } finally {
      await model.close();
    }
  });

  test("no policy, or one naming another tool: nobody is asked and the command runs", async () => {
    for (const policy of [undefined, ["edit", "Write"]]) {
      const marker = join(dir, `unasked-${policy ? "other" : "none"}`);
      const seen: { output?: string } = {};
      const { model, client, send } = await session(shellOnce(`touch ${marker}`, seen));
      try {
        send(policy ? { approval_policy: policy } : {});
        const { frames } = await client.untilTerminal(WAIT_MS);
        assert.ok(!frames.some((f) => f.message_type === "approval_request_message"));
        assert.ok(existsSync(marker));
      } finally {
        await model.close();
      }
    }
  });

  test("timeout: an unanswered approval is a deny, and the model reads the note", async () => {
    const marker = join(dir, "timed-out");
    const seen: { output?: string } = {};
    const { model, client, send } = await session(shellOnce(`touch ${marker}`, seen));
    try {
      send({ approval_policy: ["execute"], approval_timeout_ms: 200 });
      const { terminal } = await client.untilTerminal(WAIT_MS);
      assert.equal(terminal.message_type, "result_message", JSON.stringify(terminal));
      assert.ok(!existsSync(marker));
      assert.equal(seen.output, "The tool call was denied: the user gave no answer within 200 ms.");
    } finally {
      await model.close();
    }
  });

  test("usage sums the scripted model calls; the session's end confirms the totals of its requests", async () => {
    const seen: { output?: string } = {};
    const script: Turn[] = [...shellOnce("true", seen), reply([message("Again.")], { input: 5, output: 2, cached: 1 })];
    const { model, client, send } = await session(script);
    try {
      send();
      const first = await client.untilTerminal(WAIT_MS);
      assert.deepEqual(usageOf(first.terminal), {
        input_tokens: 31,
        output_tokens: 7,
        cache_read_tokens: 8,
        cache_write_tokens: 0,
        model_calls: 2,
      });
      send();
      const second = await client.untilTerminal(WAIT_MS);
      assert.deepEqual(usageOf(second.terminal), {
        input_tokens: 5,
        output_tokens: 2,
        cache_read_tokens: 1,
        cache_write_tokens: 0,
        model_calls: 1,
      });
      client.send({ message_type: "end_session_message" });
      const confirm = await untilType(client, "end_session_confirm_message");
      assert.deepEqual(confirm.usage, {
        input_tokens: 36,
        output_tokens: 9,
        cache_read_tokens: 9,
        cache_write_tokens: 0,
        model_calls: 3,
      });
    } finally {
      await model.close();
    }
  });

  test("interrupt during a long shell command: the command's processes are gone, post-commands ran, the result holds the text so far, flagged interrupted", async () => {
    const pidFile = join(dir, "sleep.pid");
    const after = join(dir, "post-ran");
    const { model, client, send } = await session([
      reply(
        [
          message("Starting the long job."),
          functionCall("shell", { command: `sleep 300 & echo $! > ${pidFile}; wait`, timeout_ms: null }, "call_1"),
        ],
        { input: 9, output: 2 },
      ),
    ]);
    try {
      send({ post_agent_invocation_commands: [{ command: `touch ${after}` }] });
      const pid = await startedPid(pidFile);
      client.send({ message_type: "interrupt_message" });
      const { terminal } = await client.untilTerminal(WAIT_MS);
      assert.equal(terminal.message_type, "result_message", JSON.stringify(terminal));
      assert.deepEqual(terminal.data, { type: "text", text: "Starting the long job." });
      const metadata = terminal.metadata as Record<string, unknown>;
      assert.equal(metadata.interrupted, true);
      assert.deepEqual(metadata.usage, {
        input_tokens: 9,
        output_tokens: 2,
        cache_read_tokens: 0,
        cache_write_tokens: 0,
        model_calls: 1,
      });
      assert.ok(!isAlive(pid), "the shell command's process is gone");
      assert.ok(existsSync(after), "the post-agent command ran");
      assert.equal(model.responseRequests().length, 1, "no model call after the interrupt");
    } finally {
      await model.close();
    }
  });
});
