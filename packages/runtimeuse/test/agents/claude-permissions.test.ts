import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { HookCallbackMatcher, HookInput } from "@anthropic-ai/claude-agent-sdk";
import type { AgentInvocation, ApprovalDecision, ApprovalRequest } from "../../src/handler.js";
import { HOLD_TIMEOUT_S, permissionOptions } from "../../src/handlers/claude/permissions.js";

// What the Claude agent hands Claude Code to hold tool calls for approval.
// The real Claude Code runs these options in test/hitl/claude.test.ts; here,
// the parts a short test cannot wait for: how long Claude Code lets the hook
// take, and what a failing hook does.

/** An invocation under `approval_policy: ["Bash"]` whose client answers `decision`. */
function invocationAnswering(decision: ApprovalDecision, asked: ApprovalRequest[]): AgentInvocation {
  return {
    approvalPolicy: ["Bash"],
    allowQuestions: false,
    needsApproval: (toolName: string) => toolName === "Bash",
    requestApproval: async (request: ApprovalRequest) => {
      asked.push(request);
      return decision;
    },
  } as unknown as AgentInvocation;
}

function holdMatcher(invocation: AgentInvocation): HookCallbackMatcher {
  const matcher = permissionOptions(invocation).hooks?.PreToolUse?.[0];
  assert.ok(matcher, "a PreToolUse hook");
  return matcher;
}

const preToolUse = (toolName: string): HookInput =>
  ({
    hook_event_name: "PreToolUse",
    tool_name: toolName,
    tool_input: { command: "ls" },
    tool_use_id: "toolu_1",
    session_id: "s",
    transcript_path: "/t",
    cwd: "/",
  }) as unknown as HookInput;

describe("claude agent: the approval hook", () => {
  test("Claude Code waits for it far longer than its 600 s default, within what a timer holds", () => {
    const matcher = holdMatcher(invocationAnswering({ decision: "allow", by: "client" }, []));
    assert.equal(matcher.timeout, HOLD_TIMEOUT_S);
    assert.ok(HOLD_TIMEOUT_S >= 7 * 24 * 3600, "at least a week");
    assert.ok(HOLD_TIMEOUT_S * 1000 <= 2 ** 31 - 1, "a timer of that many ms does not overflow");
  });

  test("a hook that fails blocks the tool call instead of letting it run unapproved", () => {
    assert.equal(holdMatcher(invocationAnswering({ decision: "allow", by: "client" }, [])).onFailure, "block");
  });

  test("a covered call gets the client's decision; an uncovered one gets none and is not asked about", async () => {
    const asked: ApprovalRequest[] = [];
    const denied = invocationAnswering({ decision: "deny", by: "client", message: "not now" }, asked);
    const [hook] = holdMatcher(denied).hooks;
    assert.ok(hook);
    const signal = new AbortController().signal;
    assert.deepEqual(await hook(preToolUse("Bash"), "toolu_1", { signal }), {
      hookSpecificOutput: {
        hookEventName: "PreToolUse",
        permissionDecision: "deny",
        permissionDecisionReason: "not now",
      },
    });
    assert.deepEqual(await hook(preToolUse("Read"), "toolu_2", { signal }), {});
    assert.deepEqual(asked, [{ toolName: "Bash", input: { command: "ls" } }]);
  });
});
