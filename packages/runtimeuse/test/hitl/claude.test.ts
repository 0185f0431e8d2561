import assert from "node:assert/strict";
import { existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import { useClaudeRuntime } from "../agents/claude-rig.js";
import { invocation, isAlive, WAIT_MS, waitUntil } from "../agents/harness.js";
import type { RawClient } from "../support/client.js";
import {
  reply,
  type ScriptedAnthropic,
  startScriptedAnthropic,
  type Turn,
  text,
  toolResult,
  toolUse,
} from "../support/scripted/anthropic-messages.js";
import { answerApproval, startedPid, untilType, usageOf } from "./support.js";

// The real Claude Code binary against a scripted Messages API: canUseTool for
// approvals and its question tool, interrupt() and usage.

const claude = useClaudeRuntime("runtimeuse-hitl-claude-");

async function open(
  script: Turn[],
): Promise<{ model: ScriptedAnthropic; client: RawClient; send: (fields?: Record<string, unknown>) => void }> {
  const model = await startScriptedAnthropic(script);
  const client = await claude.runtime.client();
  const send = (fields: Record<string, unknown> = {}) =>
    client.send(
      invocation({
        model: "claude-sonnet-4-5",
        user_prompt: "do it",
        agent_env: claude.env(model.baseURL),
        ...fields,
      }),
    );
  return { model, client, send };
}

/** Claude runs one Bash command, then answers; `seen.result` is the tool result it read back. */
function bashOnce(command: string, seen: { result?: string }): Turn[] {
  return [
    reply([text("Running it."), toolUse("Bash", { command, description: "run it" }, "toolu_1")], {
      input: 30,
      output: 9,
      cacheRead: 100,
      cacheWrite: 40,
    }),
    (request) => {
      seen.result = toolResult(request.body, "toolu_1");
      return reply([text("Done.")], { input: 50, output: 7, cacheRead: 140 });
    },
  ];
}

describe("claude agent: approvals, questions, interrupt and usage", () => {
  test("allow: the Bash call waits for the client's approval, then runs", async () => {
    const marker = join(claude.dir, "allowed");
    const seen: { result?: string } = {};
    const { model, client, send } = await open(bashOnce(`touch ${marker}`, seen));
    try {
      send({ approval_policy: ["Bash"] });
      const request = await answerApproval(client, "allow");
      assert.equal(request.tool_name, "Bash");
      assert.equal(request.tool_kind, "execute");
      assert.equal((request.input as { command: string }).command, `touch ${marker}`);
      const { terminal } = await client.untilTerminal(WAIT_MS);
      assert.equal(terminal.message_type, "result_message", JSON.stringify(terminal));
      assert.ok(existsSync(marker));
    } finally {
      await model.close();
    }
  });

  test("deny: the command does not run and Claude's next request carries the denial", async () => {
    const marker = join(claude.dir, "denied");
    const seen: { result?: string } = {};
    const { model, client, send } = await open(bashOnce(`touch ${marker}`, seen));
    try {
      send({ approval_policy: ["execute"] });
      await answerApproval(client, "deny", "not on this machine");
      const { terminal } = await client.untilTerminal(WAIT_MS);
      assert.equal(terminal.message_type, "result_message", JSON.stringify(terminal));
      assert.ok(!existsSync(marker));
      assert.match(seen.result ?? "", /The user denied this tool call: not on this machine/);
    } finally {
      await model.close();
    }
  });

  test("tools Claude Code allows by itself (Read inside its working directory) are held too when the policy covers them", async () => {
    const file = join(claude.dir, "notes.txt");
    writeFileSync(file, "the secret plan\n");
    for (const decision of ["allow", "deny"] as const) {
      const seen: { result?: string } = {};
      const { model, client, send } = await open([
        reply([text("Reading it."), toolUse("Read", { file_path: file }, "toolu_1")]),
        (request) => {
          seen.result = toolResult(request.body, "toolu_1");
          return reply([text("Done.")]);
        },
      ]);
      try {
        send({ approval_policy: ["read"] });
        const request = await answerApproval(client, decision, "keep out");
        assert.equal(request.tool_name, "Read");
        assert.equal(request.tool_kind, "read");
        assert.deepEqual(request.input, { file_path: file });
        const frames: string[] = [];
        for (;;) {
          const frame = await client.next(WAIT_MS);
          frames.push(String(frame.message_type));
          if (frame.message_type === "result_message" || frame.message_type === "error_message") break;
        }
        assert.equal(frames.at(-1), "result_message", frames.join(", "));
        assert.ok(!frames.includes("approval_request_message"), "asked once, not again by canUseTool");
        if (decision === "allow") assert.match(seen.result ?? "", /the secret plan/);
        else {
          assert.doesNotMatch(seen.result ?? "", /the secret plan/);
          assert.match(seen.result ?? "", /keep out/);
        }
      } finally {
        await model.close();
      }
    }
  });

  test("a policy naming another tool asks nothing; usage sums the scripted calls, with cache reads, writes and cost", async () => {
    const marker = join(claude.dir, "unasked");
    const seen: { result?: string } = {};
    const { model, client, send } = await open(bashOnce(`touch ${marker}`, seen));
    try {
      send({ approval_policy: ["Write"] });
      const { frames, terminal } = await client.untilTerminal(WAIT_MS);
      assert.ok(!frames.some((f) => f.message_type === "approval_request_message"));
      assert.ok(existsSync(marker));
      const usage = usageOf(terminal) as Record<string, number>;
      assert.deepEqual(
        { ...usage, cost_usd: undefined },
        {
          input_tokens: 80,
          output_tokens: 16,
          cache_read_tokens: 240,
          cache_write_tokens: 40,
          model_calls: 2,
          cost_usd: undefined,
        },
      );
      assert.ok((usage.cost_usd ?? 0) > 0, "Claude Code's cost is reported");
      client.send({ message_type: "end_session_message" });
      const confirm = await untilType(client, "end_session_confirm_message");
      assert.deepEqual(confirm.usage, usage, "one request: the session's totals are its usage");
    } finally {
      await model.close();
    }
  });

  test("Claude's question tool: the client's answer reaches the model", async () => {
    let seen: string | undefined;
    const questions = [
      {
        question: "Which database should I use?",
        header: "Database",
        options: [
          { label: "Postgres", description: "relational" },
          { label: "SQLite", description: "a file" },
        ],
        multiSelect: false,
      },
    ];
    const { model, client, send } = await open([
      reply([toolUse("AskUserQuestion", { questions }, "toolu_q")]),
      (request) => {
        seen = toolResult(request.body, "toolu_q");
        return reply([text("Postgres it is.")]);
      },
    ]);
    try {
      send({ allow_questions: true });
      const question = await untilType(client, "question_request_message");
      assert.equal(question.question, "Which database should I use?");
      assert.equal(question.header, "Database");
      assert.deepEqual(question.options, [
        { label: "Postgres", description: "relational" },
        { label: "SQLite", description: "a file" },
      ]);
      client.send({ message_type: "question_response_message", request_id: question.request_id, answer: "Postgres" });
      const { terminal } = await client.untilTerminal(WAIT_MS);
      assert.equal(terminal.message_type, "result_message", JSON.stringify(terminal));
      assert.match(seen ?? "", /Postgres/);
    } finally {
      await model.close();
    }
  });

  test("interrupt during a long Bash command: its processes are gone, post-commands ran, the result is flagged interrupted", async () => {
    const pidFile = join(claude.dir, "sleep.pid");
    const after = join(claude.dir, "post-ran");
    const { model, client, send } = await open([
      reply([
        text("Starting the long job."),
        toolUse(
          "Bash",
          { command: `sh -c 'echo $$ > ${pidFile}; exec tail -f /dev/null'`, description: "long", timeout: 600000 },
          "toolu_long",
        ),
      ]),
      reply([text("Stopped.")]),
      reply([text("Stopped.")]),
    ]);
    try {
      send({ post_agent_invocation_commands: [{ command: `touch ${after}` }] });
      const pid = await startedPid(pidFile);
      client.send({ message_type: "interrupt_message" });
      const { terminal } = await client.untilTerminal(WAIT_MS);
      assert.equal(terminal.message_type, "result_message", JSON.stringify(terminal));
      const metadata = terminal.metadata as Record<string, unknown>;
      assert.equal(metadata.interrupted, true);
      assert.match((terminal.data as { text: string }).text, /^Starting the long job\./);
      await waitUntil(() => !isAlive(pid), "the Bash command's process is gone");
      assert.ok(existsSync(after), "the post-agent command ran");
    } finally {
      await model.close();
    }
  });
});
