import assert from "node:assert/strict";
import { test } from "node:test";
import type { AgentHandler } from "../../src/handler.js";
import { invocation, RawClient } from "../support/client.js";
import { startTestServer } from "../support/server.js";

const LATE =
  /^WARN the handler sent a message after returning its result; dropped \(a send not awaited\?\) connection=\d+ request=\d+ message_type=(\w+)$/;

test("messages a handler sends after returning its result are dropped, and said once per request in the log", async () => {
  let sentLate: () => void = () => {};
  const late = new Promise<void>((resolve) => {
    sentLate = resolve;
  });
  const handler: AgentHandler = {
    async run(inv, sender) {
      if (inv.userPrompt === "late") {
        // Not awaited: they run after the handler has returned.
        setTimeout(async () => {
          await sender.sendAssistantMessage(["too late"]);
          await sender.sendAssistantMessage(["later still"]);
          await sender.sendCommandOutput("ls", "stdout", "x\n");
          sentLate();
        }, 20);
      }
      await sender.sendAssistantMessage([`answering ${inv.userPrompt}`]);
      return { type: "text", text: inv.userPrompt };
    },
  };
  const server = await startTestServer({ handler });
  try {
    const client = await RawClient.connect(server.url);
    client.send(invocation({ user_prompt: "late" }));
    const first = await client.untilTerminal();
    assert.deepEqual(
      first.frames.map((frame) => frame.message_type),
      ["assistant_message", "result_message"],
    );
    await late;
    // The next request on the connection sees none of them either.
    client.send(invocation({ user_prompt: "next" }));
    const second = await client.untilTerminal();
    assert.deepEqual(second.frames, [
      { message_type: "assistant_message", text_blocks: ["answering next"] },
      { message_type: "result_message", metadata: {}, data: { type: "text", text: "next" } },
    ]);
    await client.close();
    const told = server.logs.filter((line) => LATE.test(line));
    assert.equal(told.length, 1, server.logs.join("\n"));
    assert.equal(LATE.exec(told[0] ?? "")?.[1], "assistant_message");
  } finally {
    await server.close();
  }
});
