import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { RuntimeMessage } from "@runtimeuse/protocol";
import { harness } from "./support/engine-harness.js";

/** The engine harness, plus `open`: sends an approval request for request `requestId`, returning its id. */
function promptHarness() {
  const base = harness();
  const open = (requestId: number) => {
    const opened = base.engine.openPrompt(requestId, {
      message_type: "approval_request_message",
      tool_name: "shell",
      tool_kind: "execute",
      input: { command: "ls" },
    });
    assert.ok(opened, "the prompt was sent");
    base.apply(opened.effects);
    return opened.id;
  };
  return { ...base, open };
}

const invocation = { message_type: "invocation_message", system_prompt: "s", user_prompt: "u", model: "m" };
const allow = (id: string) => ({ message_type: "approval_response_message", request_id: id, decision: "allow" });
const usage = (n: number) => ({
  input_tokens: n,
  output_tokens: 2 * n,
  cache_read_tokens: 0,
  cache_write_tokens: n,
  model_calls: 1,
});
const types = (messages: RuntimeMessage[]) => messages.map((m) => m.message_type);

describe("SessionEngine: approvals, questions, interrupt, usage", () => {
  test("an answer goes to the request that asked, once; a repeated answer gets response_error_message and disturbs nothing", () => {
    const h = promptHarness();
    h.receive(invocation);
    const id = h.open(1);
    assert.deepEqual(types(h.sent), ["approval_request_message"]);
    assert.equal((h.sent[0] as { request_id: string }).request_id, id);
    const answered = h.receive(allow(id));
    assert.deepEqual(answered, [{ type: "answer", requestId: 1, message: allow(id) }]);
    h.receive(allow(id));
    assert.deepEqual(types(h.sent), ["approval_request_message", "response_error_message"]);
    const refusal = h.sent[1] as unknown as { request_id: string; metadata: { code: string }; error: string };
    assert.equal(refusal.request_id, id);
    assert.equal(refusal.metadata.code, "unknown_request_id");
    assert.match(refusal.error, /already answered/);
    assert.equal(h.engine.activeRequestId, 1, "the request is still in flight");
    assert.ok(!h.effects.some((e) => e.type === "abort"));
  });

  test("an answer with an unknown id, one to a timed-out prompt and one after the request ended are each refused", () => {
    const h = promptHarness();
    h.receive(invocation);
    h.receive(allow("approval-77"));
    const id = h.open(1);
    h.engine.closePrompt(id);
    h.receive(allow(id));
    const late = h.open(1);
    h.apply(h.engine.terminate(1, { message_type: "result_message", metadata: {}, data: { type: "text", text: "x" } }));
    h.receive(allow(late));
    assert.deepEqual(types(h.sent), [
      "response_error_message",
      "approval_request_message",
      "response_error_message",
      "approval_request_message",
      "result_message",
      "response_error_message",
    ]);
    assert.ok(!h.effects.some((e) => e.type === "answer"));
  });

  test("an answer of the other kind is refused and leaves the prompt waiting for its own", () => {
    const h = promptHarness();
    h.receive(invocation);
    const id = h.open(1);
    h.receive({ message_type: "question_response_message", request_id: id, answer: "no" });
    assert.deepEqual(types(h.sent), ["approval_request_message", "response_error_message"]);
    const refusal = h.sent[1] as unknown as { request_id: string; metadata: { code: string }; error: string };
    assert.equal(refusal.request_id, id);
    assert.equal(refusal.metadata.code, "unknown_request_id");
    assert.match(refusal.error, /no question waits for request_id "approval-1"/);
    assert.ok(!h.effects.some((e) => e.type === "answer"));
    // The approval still waits, and takes its own answer.
    assert.deepEqual(h.receive(allow(id)), [{ type: "answer", requestId: 1, message: allow(id) }]);
  });

  test("a long unknown id is sent back whole but quoted in the error only in part", () => {
    const h = promptHarness();
    h.receive(invocation);
    const long = "x".repeat(100_000);
    h.receive(allow(long));
    const refusal = h.sent[0] as unknown as { request_id: string; error: string };
    assert.equal(refusal.request_id, long);
    assert.ok(refusal.error.length < 600, `${refusal.error.length} characters`);
    assert.match(refusal.error, /\.\.\. \(100000 characters\)/);
  });

  test("prompt ids are unique on the connection across requests, and no prompt is sent for a request not in flight", () => {
    const h = promptHarness();
    h.receive(invocation);
    const first = h.open(1);
    h.apply(h.engine.terminate(1, { message_type: "result_message", metadata: {}, data: { type: "text", text: "x" } }));
    h.apply(h.engine.settled(1));
    assert.equal(h.engine.openPrompt(1, { message_type: "question_request_message", question: "late?" }), undefined);
    h.receive(invocation);
    const second = h.open(2);
    assert.notEqual(first, second);
  });

  test("interrupt reaches an invocation in flight only", () => {
    const h = promptHarness();
    assert.deepEqual(h.receive({ message_type: "interrupt_message" }), [], "nothing in flight");
    h.receive({ message_type: "command_execution_message", commands: [{ command: "true" }] });
    assert.deepEqual(h.receive({ message_type: "interrupt_message" }), [], "a command execution");
    h.apply(h.engine.terminate(1, { message_type: "command_execution_result_message", results: [] }));
    h.apply(h.engine.settled(1));
    h.receive(invocation);
    assert.deepEqual(h.receive({ message_type: "interrupt_message" }), [{ type: "interrupt", requestId: 2 }]);
    assert.deepEqual(h.sent, [{ message_type: "command_execution_result_message", results: [] }], "no frame for it");
  });

  test("an interrupt for a request still waiting for the previous runner is kept until it starts", () => {
    const h = promptHarness();
    h.receive(invocation);
    h.receive({ message_type: "cancel_message" });
    h.receive(invocation);
    assert.deepEqual(h.receive({ message_type: "interrupt_message" }), []);
    h.apply(h.engine.settled(1));
    assert.equal(h.engine.interruptedBeforeStart(2), true);
  });

  test("end_session_confirm_message carries the usage summed over results and errors that reported one", () => {
    const h = promptHarness();
    for (const [index, terminal] of [
      { message_type: "result_message", metadata: { usage: usage(10) }, data: { type: "text", text: "a" } },
      { message_type: "error_message", error: "failed", metadata: { usage: { ...usage(1), cost_usd: 0.5 } } },
      { message_type: "result_message", metadata: { usage: "not a usage" }, data: { type: "text", text: "c" } },
      {
        message_type: "result_message",
        metadata: { usage: { ...usage(5), cost_usd: 0.25 } },
        data: { type: "text", text: "d" },
      },
    ].entries()) {
      h.receive(invocation);
      h.apply(h.engine.terminate(index + 1, terminal as never));
      h.apply(h.engine.settled(index + 1));
    }
    h.receive({ message_type: "end_session_message" });
    h.apply(h.engine.confirmEnd([]));
    const confirm = h.sent.at(-1) as { message_type: string; usage: unknown };
    assert.equal(confirm.message_type, "end_session_confirm_message");
    assert.deepEqual(confirm.usage, {
      input_tokens: 16,
      output_tokens: 32,
      cache_read_tokens: 0,
      cache_write_tokens: 16,
      model_calls: 3,
      cost_usd: 0.75,
    });
  });

  test("a session whose requests reported no usage confirms its end without a usage field", () => {
    const h = promptHarness();
    h.receive({ message_type: "end_session_message" });
    h.apply(h.engine.confirmEnd());
    assert.deepEqual(h.sent, [{ message_type: "end_session_confirm_message" }]);
  });
});
