import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import type { AgentHandler, ApprovalDecision, QuestionAnswer } from "../../src/handler.js";
import { WAIT_MS, waitUntil } from "../agents/harness.js";
import { invocation, RawClient } from "../support/client.js";
import { startTestServer, type TestServer } from "../support/server.js";
import { untilType } from "./support.js";

// A custom handler's view: what invocation.requestApproval and invocation.ask
// resolve with when the wait ends otherwise than by an answer.

const decisions: Array<ApprovalDecision | QuestionAnswer> = [];
const handler: AgentHandler = {
  async run(run) {
    decisions.push(await run.requestApproval({ toolName: "deploy", input: { target: "prod" }, reason: "ship" }));
    decisions.push(await run.ask({ question: "Sure?" }));
    return { type: "text", text: "done" };
  },
};

let server: TestServer;
before(async () => {
  server = await startTestServer({ handler });
});
after(() => server.close());

describe("invocation.requestApproval and invocation.ask in a custom handler", () => {
  test("an unknown tool is of kind other and asked under `always`; a disconnect ends the wait as a cancel", async () => {
    decisions.length = 0;
    const client = await RawClient.connect(server.url);
    client.send(invocation({ approval_policy: "always", allow_questions: true }));
    const request = await untilType(client, "approval_request_message");
    assert.equal(request.tool_kind, "other");
    assert.equal(request.reason, "ship");
    await client.close();
    await waitUntil(() => decisions.length === 2, "the handler's waits ended");
    assert.deepEqual(decisions, [
      { decision: "deny", by: "cancel", message: "The tool call was denied: the request was cancelled." },
      { answered: false, by: "cancel", message: "The request was cancelled before the user answered." },
    ]);
  });

  test("an interrupt while waiting denies the call, and the question is not asked", async () => {
    decisions.length = 0;
    const client = await RawClient.connect(server.url);
    try {
      client.send(invocation({ approval_policy: ["deploy"], allow_questions: true }));
      await untilType(client, "approval_request_message");
      client.send({ message_type: "interrupt_message" });
      const { frames, terminal } = await client.untilTerminal(WAIT_MS);
      assert.ok(!frames.some((f) => f.message_type === "question_request_message"));
      assert.deepEqual(terminal.data, { type: "text", text: "done" });
      assert.equal((terminal.metadata as Record<string, unknown>).interrupted, true);
      assert.deepEqual(decisions, [
        { decision: "deny", by: "interrupt", message: "The tool call was denied: the user interrupted the turn." },
        { answered: false, by: "interrupt", message: "The user interrupted the turn before answering." },
      ]);
    } finally {
      await client.close();
    }
  });
});
