import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { ParsedRuntimeMessage } from "@runtimeuse/protocol";
import { AgentRuntimeError, ProtocolViolationError } from "../src/errors.js";
import { RequestTracker } from "../src/tracker.js";

/* The request rules on their own, without a channel, timers or callbacks. */

const RESULT = { message_type: "result_message", metadata: {}, data: { type: "text", text: "r" } } as const;
const ASSISTANT = { message_type: "assistant_message", text_blocks: ["a"] } as const;
const OFFER = { message_type: "artifact_upload_request_message", filename: "f", filepath: "/out/f" } as const;
const ERROR = { message_type: "error_message", error: "boom", metadata: { code: "handler_error" } } as const;

const query = () => new RequestTracker("invocation_message", "result_message");
const feed = (tracker: ReturnType<typeof query>, message: unknown) => tracker.receive(message as ParsedRuntimeMessage);

describe("the request tracker", () => {
  test("progress is delivered as events, an offer asks for an answer, and the expected terminal finishes", () => {
    const tracker = query();
    assert.deepEqual(feed(tracker, ASSISTANT), {
      type: "deliver",
      event: { type: "assistant_message", textBlocks: ["a"] },
    });
    assert.deepEqual(feed(tracker, { message_type: "heartbeat_message", phase: "agent", elapsed_ms: 5 }), {
      type: "deliver",
      event: { type: "heartbeat", phase: "agent", elapsedMs: 5 },
    });
    assert.deepEqual(feed(tracker, OFFER), { type: "answer", offer: { filename: "f", filepath: "/out/f" } });
    assert.deepEqual(feed(tracker, RESULT), { type: "finish", ok: true, terminal: RESULT });
    assert.equal(tracker.state, "finished");
    assert.throws(() => feed(tracker, RESULT), /after the request finished/);
  });

  test("error_message finishes with an AgentRuntimeError carrying the runtime's error and code", () => {
    const action = feed(query(), ERROR);
    assert.ok(action.type === "finish" && !action.ok);
    assert.ok(action.error instanceof AgentRuntimeError);
    assert.equal(action.error.code, "handler_error");
    assert.equal(action.violation, undefined, "the connection stays usable");
  });

  test("a terminal of the other kind or an end-session confirm is a violation that closes the connection", () => {
    for (const message of [
      { message_type: "command_execution_result_message", results: [] },
      { message_type: "end_session_confirm_message" },
    ]) {
      const action = feed(query(), message);
      assert.ok(action.type === "finish" && !action.ok);
      assert.ok(action.violation instanceof ProtocolViolationError);
      assert.equal(action.violation.code, "unexpected_message");
      assert.equal(action.error, action.violation);
    }
  });

  test("once stopped, nothing is delivered or answered and any end is the stop reason", () => {
    const reason = new Error("stopped");
    const stopped = () => {
      const tracker = query();
      assert.equal(tracker.stop(reason), true, "the first stop asks for a cancel");
      assert.equal(tracker.stop(new Error("again")), false, "a second one does not");
      return tracker;
    };
    const tracker = stopped();
    assert.deepEqual(feed(tracker, ASSISTANT), { type: "skip" });
    assert.deepEqual(feed(tracker, OFFER), { type: "skip" });
    assert.deepEqual(feed(tracker, RESULT), { type: "finish", ok: false, error: reason });
    assert.deepEqual(feed(stopped(), ERROR), { type: "finish", ok: false, error: reason });
    assert.deepEqual(stopped().ended(new Error("closed")), { type: "finish", ok: false, error: reason });
    const violation = feed(stopped(), { message_type: "command_execution_result_message", results: [] });
    assert.ok(violation.type === "finish" && !violation.ok);
    assert.equal(violation.error, reason);
    assert.ok(violation.violation instanceof ProtocolViolationError, "the connection is still closed");
  });

  test("the stream ending before a terminal finishes with the channel's reason; stop after the end is refused", () => {
    const tracker = query();
    const closed = new Error("closed");
    assert.deepEqual(tracker.ended(closed), { type: "finish", ok: false, error: closed });
    assert.equal(tracker.stop(new Error("late")), false);
  });
});
