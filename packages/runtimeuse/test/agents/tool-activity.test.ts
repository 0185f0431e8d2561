import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { MAX_TOOL_INPUT_CHARS, toolCallBlock } from "../../src/handlers/shared/tool-activity.js";

describe("the assistant block shown for a tool call", () => {
  test("names the tool and its most telling input field", () => {
    assert.equal(toolCallBlock("Bash", { command: "ls -la", description: "list" }), "[tool] Bash: ls -la");
    assert.equal(toolCallBlock("Read", { file_path: "/a/b.ts" }), "[tool] Read: /a/b.ts");
    assert.equal(toolCallBlock("web_search_call", { type: "search", query: "q" }), "[tool] web_search_call: q");
  });

  test("reads JSON-encoded arguments, and shows other inputs as JSON", () => {
    assert.equal(toolCallBlock("shell", '{"command":"pwd","timeout_ms":null}'), "[tool] shell: pwd");
    assert.equal(
      toolCallBlock("Edit", { old_string: "a", new_string: "b" }),
      '[tool] Edit: {"old_string":"a","new_string":"b"}',
    );
    assert.equal(toolCallBlock("odd", "not json"), "[tool] odd: not json");
  });

  test("cuts a long input, saying how much was left out", () => {
    const block = toolCallBlock("Bash", { command: "x".repeat(MAX_TOOL_INPUT_CHARS + 25) });
    assert.equal(block, `[tool] Bash: ${"x".repeat(MAX_TOOL_INPUT_CHARS)}… (25 more characters)`);
  });
});
