import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import type { AgentHandler, AgentInvocation } from "../../src/handler.js";
import { invocation, RawClient, waitFor } from "../support/client.js";
import { startTestServer, type TestServer } from "../support/server.js";

// What a handler may do with its invocation, as handlers in the wild do:
// read it, destructure it, spread it with a field replaced, or hand an inner
// handler `Object.create(invocation, ...)` with one field replaced. Every
// view sees the same live fields (signals, logger, interrupted) as before.

const FIELDS = [
  "systemPrompt",
  "userPrompt",
  "model",
  "env",
  "secrets",
  "signal",
  "logger",
  "runCommand",
  "approvalPolicy",
  "allowQuestions",
  "needsApproval",
  "requestApproval",
  "ask",
  "interruptSignal",
  "interrupted",
  "sourceId",
];

interface Views {
  keys: string[];
  spread: AgentInvocation;
  derived: AgentInvocation;
  destructured: Pick<AgentInvocation, "signal" | "logger" | "interruptSignal" | "interrupted" | "runCommand">;
  /** A transparent proxy, as instrumentation wraps objects. */
  proxied: AgentInvocation;
  original: AgentInvocation;
}

let views: Views | undefined;
let release: () => void = () => {};
const viewer: AgentHandler = {
  async run(inv, sender) {
    const { signal, logger, interruptSignal, interrupted, runCommand } = inv;
    views = {
      keys: Object.keys(inv),
      spread: { ...inv, userPrompt: "replaced" },
      derived: Object.create(inv, { userPrompt: { value: "delegated", enumerable: true } }) as AgentInvocation,
      destructured: { signal, logger, interruptSignal, interrupted, runCommand },
      proxied: new Proxy(inv, {}),
      original: inv,
    };
    await sender.sendAssistantMessage(["viewed"]);
    await new Promise<void>((resolve) => {
      release = resolve;
      inv.signal.addEventListener("abort", () => resolve(), { once: true });
    });
    return { type: "text", text: "done" };
  },
};

let server: TestServer;
before(async () => {
  server = await startTestServer({ handler: viewer });
});
after(() => server.close());

describe("the invocation a handler gets", () => {
  test("spread, destructured, Object.create and proxied views all see its fields and the same live signal", async () => {
    const client = await RawClient.connect(server.url);
    client.send(invocation({ user_prompt: "look", source_id: "src-1" }));
    await waitFor(() => views !== undefined, 20_000, "the handler to take its views");
    const { keys, spread, derived, destructured, proxied, original } = views as Views;
    assert.deepEqual(keys, FIELDS, "own enumerable fields, in order");
    assert.deepEqual(Object.keys(spread), FIELDS);
    assert.equal(spread.userPrompt, "replaced");
    assert.equal(derived.userPrompt, "delegated");
    assert.equal(derived.systemPrompt, original.systemPrompt);
    for (const view of [spread, derived, destructured, proxied]) {
      assert.equal(view.signal, original.signal, "one abort signal");
      assert.equal(view.interruptSignal, original.interruptSignal, "one interrupt signal");
      assert.equal(view.logger, original.logger, "one logger");
      assert.equal(view.interrupted, false);
      assert.equal(typeof view.runCommand, "function");
    }
    assert.equal(derived.sourceId, "src-1");
    assert.equal(Object.getOwnPropertySymbols(spread).length, 0, "spreading copies nothing hidden");
    client.send({ message_type: "cancel_message" });
    const { terminal } = await client.untilTerminal();
    assert.equal(terminal.error, "Request cancelled");
    assert.equal(derived.signal.aborted, true, "the cancel reaches the signal through every view");
    assert.equal(proxied.signal.aborted, true);
    release();
    await client.close();
  });
});
