import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, test } from "node:test";
import { echoHandler } from "../../runtimeuse/src/handlers/index.js";
import { type ApprovalRequest, InvalidOptionsError, type QuestionRequest, RuntimeUseClient } from "../src/node.js";
import { Q, waitFor, withRuntime } from "./support/runtime.js";

// The TypeScript client's person in the loop against the real runtime and its
// echo agent, told through agent_env to run a command and to ask a question.

const ZERO = { input_tokens: 0, output_tokens: 0, cache_read_tokens: 0, cache_write_tokens: 0, model_calls: 0 };

describe("approvals, questions, interrupt and usage through the TypeScript client", () => {
  test("onApprovalRequest decides the held tool call: allow runs it, deny does not and the agent reads the message", async () => {
    const dir = await mkdtemp(join(tmpdir(), "client-hitl-"));
    try {
      await withRuntime({ handler: echoHandler }, async ({ url }) => {
        const client = new RuntimeUseClient({ url });
        const asked: ApprovalRequest[] = [];
        const allowed = await client.query("go", {
          ...Q,
          agentEnv: { ECHO_COMMAND: `touch ${join(dir, "allowed")}` },
          approvalPolicy: ["shell"],
          onApprovalRequest: (request) => {
            asked.push(request);
            return { decision: "allow" };
          },
        });
        assert.equal(asked.length, 1);
        assert.equal(asked[0]?.toolName, "shell");
        assert.equal(asked[0]?.toolKind, "execute");
        assert.deepEqual(asked[0]?.input, { command: `touch ${join(dir, "allowed")}` });
        assert.deepEqual(allowed.data, { type: "text", text: "go\nshell: exit_code 0" });
        assert.ok(existsSync(join(dir, "allowed")));
        assert.deepEqual(allowed.usage, ZERO);

        const denied = await client.query("go", {
          ...Q,
          agentEnv: { ECHO_COMMAND: `touch ${join(dir, "denied")}` },
          approvalPolicy: "always",
          onApprovalRequest: async () => ({ decision: "deny", message: "ask again tomorrow" }),
        });
        assert.deepEqual(denied.data, {
          type: "text",
          text: "go\nshell: denied: The user denied this tool call: ask again tomorrow",
        });
        assert.ok(!existsSync(join(dir, "denied")));
      });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  test("onQuestion's answer reaches the agent; without it the agent hears no one can answer", async () => {
    await withRuntime({ handler: echoHandler }, async ({ url }) => {
      const client = new RuntimeUseClient({ url });
      const questions: QuestionRequest[] = [];
      const answered = await client.query("go", {
        ...Q,
        agentEnv: { ECHO_QUESTION: "Which region?" },
        onQuestion: (question) => {
          questions.push(question);
          return "eu-west-1";
        },
      });
      assert.equal(questions[0]?.question, "Which region?");
      assert.deepEqual(answered.data, { type: "text", text: "go\nanswer: eu-west-1" });
      const unasked = await client.query("go", { ...Q, agentEnv: { ECHO_QUESTION: "Which region?" } });
      assert.deepEqual(unasked.data, {
        type: "text",
        text: "go\nno answer: No one can answer questions in this session.",
      });
    });
  });

  test("interrupt() on a session stops the turn: the call resolves interrupted, the session goes on, close() reports the totals", async () => {
    const dir = await mkdtemp(join(tmpdir(), "client-hitl-"));
    const pidFile = join(dir, "pid");
    try {
      await withRuntime({ handler: echoHandler }, async ({ url }) => {
        const session = await new RuntimeUseClient({ url }).session();
        const call = session.query("go", { ...Q, agentEnv: { ECHO_COMMAND: `echo $$ > ${pidFile}; exec sleep 300` } });
        await waitFor(() => existsSync(pidFile) && readFileSync(pidFile, "utf8").trim() !== "", "the command started");
        session.interrupt();
        const result = await call;
        assert.equal(result.interrupted, true);
        assert.match((result.data as { text: string }).text, /^go\nshell: exit_code \d+ \(killed\)$/);
        const next = await session.query("again", Q);
        assert.equal(next.interrupted, undefined);
        assert.deepEqual(await session.close(), { artifacts: [], usage: ZERO });
      });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  test("interrupt() on the client reaches its one-shot query in flight", async () => {
    await withRuntime({ handler: echoHandler }, async ({ url }) => {
      const client = new RuntimeUseClient({ url });
      let asked = false;
      const call = client.query("go", {
        ...Q,
        agentEnv: { ECHO_COMMAND: "true" },
        approvalPolicy: "always",
        onApprovalRequest: () => {
          asked = true;
          client.interrupt();
          // The interrupt denied the call already; this late answer is refused by the runtime, harmlessly.
          return { decision: "allow" };
        },
      });
      const result = await call;
      assert.ok(asked);
      assert.equal(result.interrupted, true);
      assert.deepEqual(result.data, {
        type: "text",
        text: "go\nshell: denied: The tool call was denied: the user interrupted the turn.",
      });
    });
  });

  test("a policy that holds tool calls without onApprovalRequest, or a bad approvalTimeout, is refused before sending", async () => {
    const client = new RuntimeUseClient({ url: "ws://127.0.0.1:9" });
    await assert.rejects(client.query("go", { ...Q, approvalPolicy: "always" }), (error: unknown) => {
      assert.ok(error instanceof InvalidOptionsError);
      assert.match(error.message, /approvalPolicy: "always" needs an onApprovalRequest callback/);
      return true;
    });
    for (const approvalTimeout of [1.5, 0, 2 ** 53, 1e300, Number.NaN]) {
      await assert.rejects(
        client.query("go", { ...Q, approvalTimeout, onQuestion: () => "" }),
        /approvalTimeout: expected a positive whole number of milliseconds up to 2\*\*53-1, or Infinity for no limit/,
        String(approvalTimeout),
      );
    }
  });

  test("approvalTimeout Infinity is no limit: the field is not sent and a slow answer still allows the call", async () => {
    await withRuntime({ handler: echoHandler }, async ({ url }) => {
      const result = await new RuntimeUseClient({ url }).query("go", {
        ...Q,
        agentEnv: { ECHO_COMMAND: "true" },
        approvalPolicy: "always",
        approvalTimeout: Number.POSITIVE_INFINITY,
        onApprovalRequest: async () => {
          await new Promise((resolve) => setTimeout(resolve, 300));
          return { decision: "allow" };
        },
      });
      assert.deepEqual(result.data, { type: "text", text: "go\nshell: exit_code 0" });
    });
  });
});
