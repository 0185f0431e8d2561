import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { ClientMessage, RuntimeMessage } from "@runtimeuse/protocol";
import { harness } from "./support/engine-harness.js";

const invocation = (extra: Record<string, unknown> = {}) => ({
  message_type: "invocation_message",
  system_prompt: "s",
  user_prompt: "u",
  model: "m",
  ...extra,
});
const result = (text = "done"): RuntimeMessage & { message_type: "result_message" } => ({
  message_type: "result_message",
  metadata: {},
  data: { type: "text", text },
});
const types = (messages: RuntimeMessage[]) => messages.map((m) => m.message_type);

describe("SessionEngine", () => {
  test("a request starts at once when the session is idle", () => {
    const h = harness();
    assert.equal(h.engine.state, "idle");
    h.receive(invocation());
    assert.deepEqual(h.started(), [1]);
    assert.equal(h.engine.state, "running");
  });

  test("a second request while one is in flight is refused and the first is not disturbed", () => {
    const h = harness();
    h.receive(invocation());
    h.receive(invocation());
    assert.deepEqual(h.started(), [1]);
    assert.deepEqual(types(h.sent), ["error_message"]);
    assert.match(String((h.sent[0] as { error: string }).error), /already in flight/);
    assert.deepEqual(h.aborted(), []);
    h.apply(h.engine.emit(1, { message_type: "assistant_message", text_blocks: ["still here"] }));
    h.apply(h.engine.terminate(1, result()));
    assert.deepEqual(types(h.sent), ["error_message", "assistant_message", "result_message"]);
  });

  test("exactly one terminal per request: a second terminal and later messages are dropped", () => {
    const h = harness();
    h.receive(invocation());
    h.apply(h.engine.terminate(1, { message_type: "error_message", error: "first", metadata: {} }));
    h.apply(h.engine.terminate(1, result()));
    h.apply(h.engine.emit(1, { message_type: "assistant_message", text_blocks: ["late"] }));
    h.apply(h.engine.terminate(1, { message_type: "error_message", error: "second", metadata: {} }));
    assert.deepEqual(types(h.sent), ["error_message"]);
  });

  test("an error terminal (sendErrorMessage) aborts the runner's signal", () => {
    const h = harness();
    h.receive(invocation());
    h.apply(h.engine.terminate(1, { message_type: "error_message", error: "boom", metadata: {} }));
    assert.deepEqual(h.aborted(), [1]);
  });

  test("cancel sends `Request cancelled` at once and aborts the runner; its later output is dropped", () => {
    const h = harness();
    h.receive(invocation());
    h.receive({ message_type: "cancel_message" });
    assert.deepEqual(types(h.sent), ["error_message"]);
    assert.equal((h.sent[0] as { error: string }).error, "Request cancelled");
    assert.deepEqual(h.aborted(), [1]);
    h.apply(h.engine.emit(1, { message_type: "assistant_message", text_blocks: ["late"] }));
    h.apply(h.engine.terminate(1, result()));
    assert.deepEqual(types(h.sent), ["error_message"]);
  });

  test("a cancel with nothing in flight is ignored", () => {
    const h = harness();
    assert.deepEqual(h.receive({ message_type: "cancel_message" }), []);
    h.receive(invocation());
    h.apply(h.engine.terminate(1, result()));
    h.apply(h.engine.settled(1));
    assert.deepEqual(h.receive({ message_type: "cancel_message" }), []);
  });

  test("a request right after a terminal waits for the previous runner to wind down, then starts", () => {
    const h = harness();
    h.receive(invocation());
    h.receive({ message_type: "cancel_message" });
    const effects = h.receive(invocation());
    assert.deepEqual(
      effects.map((e) => e.type),
      ["wait_for_wind_down"],
    );
    assert.deepEqual(h.started(), [1], "not started yet, and not refused");
    assert.equal(h.sent.length, 1);
    h.apply(h.engine.settled(1));
    assert.deepEqual(h.started(), [1, 2]);
  });

  test("a waiting request starts when the wind-down timer expires even if the old runner never returns", () => {
    const h = harness();
    h.receive(invocation());
    h.receive({ message_type: "cancel_message" });
    h.receive(invocation());
    h.apply(h.engine.windDownExpired());
    assert.deepEqual(h.started(), [1, 2]);
    h.apply(h.engine.settled(1));
    assert.deepEqual(h.started(), [1, 2], "the late return of runner 1 starts nothing");
  });

  test("a waiting request can itself be cancelled", () => {
    const h = harness();
    h.receive(invocation());
    h.receive({ message_type: "cancel_message" });
    h.receive(invocation());
    h.receive({ message_type: "cancel_message" });
    assert.deepEqual(types(h.sent), ["error_message", "error_message"]);
    h.apply(h.engine.settled(1));
    assert.deepEqual(h.started(), [1]);
  });

  test("a runner that returns without a terminal still produces exactly one", () => {
    const h = harness();
    h.receive(invocation());
    h.apply(h.engine.settled(1));
    assert.deepEqual(types(h.sent), ["error_message"]);
    assert.equal(h.engine.state, "idle");
  });

  test("a closed transport aborts the runner and nothing is sent afterwards", () => {
    const h = harness();
    h.receive(invocation());
    h.apply(h.engine.transportClosed());
    assert.deepEqual(h.aborted(), [1]);
    assert.equal(h.engine.state, "closed");
    h.apply(h.engine.terminate(1, result()));
    h.receive(invocation());
    assert.equal(h.sent.length, 0);
  });

  test("heartbeats carry the phase and a whole-number elapsed_ms, only while a request is in flight", () => {
    const h = harness();
    assert.deepEqual(h.engine.heartbeat(), []);
    h.receive(invocation());
    h.engine.setPhase(1, "agent");
    h.advance(1234.7);
    h.apply(h.engine.heartbeat());
    assert.deepEqual(h.sent.at(-1), { message_type: "heartbeat_message", phase: "agent", elapsed_ms: 1234 });
    h.apply(h.engine.terminate(1, result()));
    assert.deepEqual(h.engine.heartbeat(), []);
  });

  test("end_session gives finalize, then confirm and close", () => {
    const h = harness();
    const effects = h.receive({ message_type: "end_session_message" });
    assert.deepEqual(
      effects.map((e) => e.type),
      ["finalize"],
    );
    assert.equal(h.engine.state, "ending");
    const done = h.apply(h.engine.confirmEnd([{ filepath: "/a", size: 1, status: "uploaded" }]));
    assert.deepEqual(
      done.map((e) => e.type),
      ["send", "close"],
    );
    assert.deepEqual(h.sent.at(-1), {
      message_type: "end_session_confirm_message",
      artifacts: [{ filepath: "/a", size: 1, status: "uploaded" }],
    });
    assert.equal(h.engine.state, "closed");
  });

  test("end_session during a request cancels it first; requests after end_session are refused", () => {
    const h = harness();
    h.receive(invocation());
    h.receive({ message_type: "end_session_message" });
    h.receive(invocation());
    assert.deepEqual(types(h.sent), ["error_message", "error_message"]);
    assert.equal((h.sent[0] as { error: string }).error, "Request cancelled");
    assert.match((h.sent[1] as { error: string }).error, /session is ending/);
  });

  test("shutdown gives the in-flight request its terminal before the close", () => {
    const h = harness();
    h.receive(invocation());
    const effects = h.apply(h.engine.shutdown());
    assert.deepEqual(
      effects.map((e) => e.type),
      ["send", "abort", "request_ended", "close"],
    );
    assert.match((h.sent[0] as { error: string }).error, /^Request cancelled/);
  });

  test("every message sent is redacted with the session's secrets, keys and message_type untouched", () => {
    const h = harness();
    h.receive(invocation({ secrets_to_redact: ["result", "tok"] }));
    h.apply(h.engine.emit(1, { message_type: "assistant_message", text_blocks: ["a tok b"] }));
    h.apply(
      h.engine.terminate(1, {
        message_type: "result_message",
        metadata: { result: "result" },
        data: { type: "text", text: "result" },
      }),
    );
    assert.deepEqual(h.sent, [
      { message_type: "assistant_message", text_blocks: ["a [REDACTED] b"] },
      {
        message_type: "result_message",
        metadata: { result: "[REDACTED]" },
        data: { type: "text", text: "[REDACTED]" },
      },
    ]);
  });

  test("a message longer than a client frame is redacted first, then spread over frames", () => {
    const h = harness();
    const secret = "sk-secret-0123456789";
    h.receive(invocation({ secrets_to_redact: [secret] }));
    // The secret straddles the point where a frame of 1 MiB would end if the text were cut before redaction.
    const text = `${"a".repeat(1024 * 1024 - 100)}${secret}${"b".repeat(1024 * 1024)}`;
    h.apply(h.engine.emit(1, { message_type: "assistant_message", text_blocks: [text] }));
    assert.deepEqual(types(h.sent), ["assistant_message", "assistant_message", "assistant_message"]);
    const blocks = h.sent.flatMap((m) => (m as { text_blocks: string[] }).text_blocks);
    assert.equal(blocks.join(""), text.replace(secret, "[REDACTED]"));
    for (const block of blocks) assert.ok(!block.includes(secret.slice(0, 8)) && !block.includes(secret.slice(-8)));
  });

  test("a bad frame gets one error naming the problem and the session stays usable", () => {
    const h = harness();
    h.receive("not json");
    h.receive({ message_type: "invocation_message", system_prompt: 1 });
    h.receive(invocation());
    assert.deepEqual(types(h.sent), ["error_message", "error_message"]);
    assert.equal((h.sent[0] as unknown as { metadata: { code: string } }).metadata.code, "invalid_json");
    assert.match((h.sent[1] as { error: string }).error, /system_prompt/);
    assert.deepEqual(h.started(), [1]);
  });

  test("artifact upload responses are handed to the adapter", () => {
    const h = harness();
    const message = {
      message_type: "artifact_upload_response_message",
      filename: "a",
      filepath: "/x/a",
      presigned_url: "http://127.0.0.1/a",
      content_type: "text/plain",
    } satisfies ClientMessage;
    assert.deepEqual(h.receive(message), [{ type: "artifact_response", message }]);
  });
});
