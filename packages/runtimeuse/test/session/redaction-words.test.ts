import assert from "node:assert/strict";
import { test } from "node:test";
import { validateRuntimeMessage } from "@runtimeuse/protocol";
import type { AgentHandler } from "../../src/types.js";
import { commands, invocation, RawClient } from "../support/client.js";
import { startTestServer } from "../support/server.js";

test("secrets equal to protocol words (text, stdout, agent, structured_output) leave every frame a client can parse", async () => {
  const handler: AgentHandler = {
    async run(inv) {
      await new Promise((resolve) => setTimeout(resolve, 120));
      if (inv.outputFormat) return { type: "structured_output", structuredOutput: { said: "structured_output" } };
      return { type: "text", text: "plain text" };
    },
  };
  const server = await startTestServer({ handler, heartbeatIntervalMs: 40 });
  try {
    const client = await RawClient.connect(server.url);
    const secrets = ["text", "stdout", "agent", "structured_output", "result_message"];
    client.send(invocation({ secrets_to_redact: secrets }));
    const text = await client.untilTerminal();
    client.send(
      invocation({
        secrets_to_redact: secrets,
        output_format_json_schema_str: JSON.stringify({ type: "json_schema", schema: { type: "object" } }),
      }),
    );
    const structured = await client.untilTerminal();
    client.send(commands(["echo stdout"], { secrets_to_redact: secrets }));
    const output = await client.untilTerminal();
    await client.close();
    for (const frame of [...text.frames, ...structured.frames, ...output.frames]) {
      assert.ok(validateRuntimeMessage(frame).ok, JSON.stringify(frame));
    }
    assert.deepEqual(text.terminal.data, { type: "text", text: "plain [REDACTED]" });
    assert.deepEqual(structured.terminal.data, {
      type: "structured_output",
      structured_output: { said: "[REDACTED]" },
    });
    const heartbeat = text.frames.find((frame) => frame.message_type === "heartbeat_message");
    assert.equal(heartbeat?.phase, "agent");
    assert.deepEqual(
      output.frames.find((frame) => frame.message_type === "command_output_message"),
      { message_type: "command_output_message", stream: "stdout", text: "[REDACTED]\n", command: "echo [REDACTED]" },
    );
  } finally {
    await server.close();
  }
});
