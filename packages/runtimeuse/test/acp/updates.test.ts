import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { assistantBlocks, ofType, request } from "../agents/harness.js";
import { type AcpRuntime, scenario, startAcpRuntime } from "./support/runtime.js";

let runtime: AcpRuntime;
before(async () => {
  runtime = await startAcpRuntime();
});
after(async () => {
  await runtime.stop();
});

describe("acp: session/update mapping through the real runtime", () => {
  test("message chunks arrive as assistant messages in order, nothing lost; usage lands in metadata.usage", async () => {
    const client = await runtime.client();
    const { messages, terminal } = await request(client, scenario({ scenario: "text" }));
    assert.equal(terminal.message_type, "result_message", JSON.stringify(terminal));
    const blocks = assistantBlocks(messages);
    assert.equal(blocks.join(""), "Hello world.\n\nSecond paragraph.");
    assert.deepEqual(terminal.data, { type: "text", text: "Hello world.\n\nSecond paragraph." });
    const metadata = terminal.metadata as Record<string, unknown>;
    assert.equal(metadata.agent, "acp");
    assert.deepEqual(metadata.usage, {
      input_tokens: 11,
      output_tokens: 7,
      cache_read_tokens: 2,
      cache_write_tokens: 1,
      model_calls: 1,
      cost_usd: 0.0125,
    });
  });
});

describe("acp: every session/update kind", () => {
  test("tool calls, plans and text keep their order; thoughts and bookkeeping updates are hidden", async () => {
    const client = await runtime.client();
    const { messages, terminal } = await request(client, scenario({ scenario: "updates" }));
    assert.equal(terminal.message_type, "result_message", JSON.stringify(terminal));
    assert.deepEqual(assistantBlocks(messages), [
      "Looking around. ",
      "[tool] shell: ls -la",
      "[tool] read: /work/notes.md",
      "[plan]\n- [x] look around\n- [~] write the answer\n- [ ] celebrate",
      "Final answer.",
    ]);
    const output = ofType(messages, "command_output_message");
    assert.deepEqual(
      output.map((m) => [m.command, m.stream, m.text]),
      [["ls -la", "stdout", "file-a\nfile-b\n"]],
    );
    assert.deepEqual(
      terminal.data,
      { type: "text", text: "Final answer." },
      "the answer is the text after the last tool call or plan",
    );
    const order = messages.map((m) => m.message_type);
    assert.ok(order.indexOf("command_output_message") > 0, "the command output follows its tool block");
  });

  test("with showThoughts, thought chunks arrive as [thought] blocks where they happened", async () => {
    const shown = await startAcpRuntime({ showThoughts: true });
    try {
      const client = await shown.client();
      const { messages } = await request(client, scenario({ scenario: "updates" }));
      const blocks = assistantBlocks(messages);
      assert.equal(blocks[0], "[thought] Let me think.");
      assert.equal(blocks[1], "Looking around. ");
      assert.equal(blocks.at(-2), "[thought] Almost done.");
      assert.equal(blocks.at(-1), "Final answer.");
    } finally {
      await shown.stop();
    }
  });

  test("text streamed slowly leaves in pieces (per paragraph or per 50 ms), joined it is exactly the text", async () => {
    const chunks = ["The first ", "sentence. ", "Still the first paragraph.\n\nA second ", "paragraph ", "ends here."];
    const client = await runtime.client();
    const { messages, terminal } = await request(client, scenario({ scenario: "text", chunks, delayMs: 30 }));
    const blocks = assistantBlocks(messages);
    assert.equal(blocks.join(""), chunks.join(""));
    assert.ok(blocks.length >= 2 && blocks.length < chunks.length + 1, JSON.stringify(blocks));
    assert.ok(
      blocks.some((block) => block.endsWith("\n\n")),
      "a paragraph end closes a piece",
    );
    assert.deepEqual(terminal.data, { type: "text", text: chunks.join("") });
  });

  test("a stop reason other than end_turn ends the request with one error naming it", async () => {
    const client = await runtime.client();
    const { messages, terminal } = await request(client, scenario({ scenario: "stop", stopReason: "max_tokens" }));
    assert.equal(terminal.message_type, "error_message");
    assert.match(String(terminal.error), /the acp agent stopped: it reached its token limit/);
    assert.equal(ofType(messages, "error_message").length, 1);
  });
});
