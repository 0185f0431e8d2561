import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import type { AgentHandler } from "../../src/handler.js";
import { RequestAbort } from "../../src/session/request-run.js";
import { invocation, RawClient, waitFor } from "../support/client.js";
import { startTestServer, type TestServer } from "../support/server.js";

describe("RequestAbort", () => {
  test("an abort before the signal is read makes the signal start aborted, with the same reason", () => {
    const abort = new RequestAbort();
    const reason = new Error("request cancelled");
    assert.equal(abort.aborted, false);
    abort.abort(reason);
    assert.equal(abort.aborted, true);
    const signal = abort.signal;
    assert.equal(signal.aborted, true);
    assert.equal(signal.reason, reason);
    assert.equal(abort.signal, signal, "the same signal on every read");
  });

  test("an abort after the signal is read fires it once; later aborts are ignored", () => {
    const abort = new RequestAbort();
    const signal = abort.signal;
    let fired = 0;
    signal.addEventListener("abort", () => fired++);
    const first = new Error("first");
    abort.abort(first);
    abort.abort(new Error("second"));
    assert.equal(fired, 1);
    assert.equal(signal.aborted, true);
    assert.equal(signal.reason, first);
  });

  test("a second abort before the signal is read keeps the first reason", () => {
    const abort = new RequestAbort();
    const first = new Error("first");
    abort.abort(first);
    abort.abort(new Error("second"));
    assert.equal(abort.signal.reason, first);
  });
});

/** The handler reads `invocation.signal` only once the test opens the gate. */
let openGate: () => void = () => {};
const seen: AbortSignal[] = [];
const lateReader: AgentHandler = {
  async run(inv, sender) {
    const gate = new Promise<void>((resolve) => {
      openGate = resolve;
    });
    await sender.sendAssistantMessage(["started"]);
    await gate;
    seen.push(inv.signal);
    return { type: "text", text: "done" };
  },
};

let server: TestServer;
before(async () => {
  server = await startTestServer({ handler: lateReader, windDownTimeoutMs: 20_000 });
});
after(() => server.close());

describe("an invocation's signal created after the request ended", () => {
  test("a handler reading its signal only after a cancel sees it already aborted", async () => {
    const client = await RawClient.connect(server.url);
    client.send(invocation({ user_prompt: "late" }));
    await waitFor(
      () => client.frames.some((f) => f.message_type === "assistant_message"),
      20_000,
      "the handler to start",
    );
    client.send({ message_type: "cancel_message" });
    const { terminal } = await client.untilTerminal();
    assert.equal(terminal.message_type, "error_message");
    assert.equal(terminal.error, "Request cancelled");
    openGate();
    await waitFor(() => seen.length === 1, 20_000, "the handler to read its signal");
    assert.equal(seen[0]?.aborted, true);
    assert.ok(seen[0]?.reason instanceof Error, "the abort reason is kept for the late signal");
    await client.close();
  });
});
