import type { CanUseTool, HookCallback, Options, PermissionResult } from "@anthropic-ai/claude-agent-sdk";
import type { AgentInvocation } from "../../handler.js";

/** Claude Code's question tool. */
export const QUESTION_TOOL = "AskUserQuestion";

interface AskedQuestion {
  question?: unknown;
  header?: unknown;
  options?: unknown;
  multiSelect?: unknown;
}

/**
 * How Claude Code asks before a tool runs. Without a person in the loop
 * (policy `never`, no questions) it never stops to ask: the sandbox is the
 * boundary. With one, a `PreToolUse` hook, which Claude Code calls before
 * every tool call, holds the calls the policy covers for the client's
 * approval, those Claude Code would allow by itself included (reading inside
 * its working directory); it runs in its default mode, and `canUseTool`, which
 * it calls only for what it would ask about, sends the question tool's
 * questions to the client and allows anything else.
 */
export function permissionOptions(invocation: AgentInvocation): Partial<Options> {
  if (invocation.approvalPolicy === "never" && !invocation.allowQuestions) {
    return { permissionMode: "bypassPermissions", allowDangerouslySkipPermissions: true };
  }
  return {
    permissionMode: "default",
    canUseTool: canUseTool(invocation),
    // A hook that fails (throws, answers wrongly) blocks the call instead of letting it run unapproved.
    hooks: { PreToolUse: [{ hooks: [holdCovered(invocation)], timeout: HOLD_TIMEOUT_S, onFailure: "block" }] },
  };
}

const DENIED = "The user denied this tool call.";

/**
 * How long Claude Code waits for the hook, in seconds. Its own default is 600:
 * a person who took longer to answer found the tool call dropped ("the hook
 * did not respond before its timeout") while the approval still waited.
 * The wait is the runtime's to bound (`approval_timeout_ms`, no limit when
 * absent), so this only has to be longer than any wait: 2,000,000 s (23 days)
 * is, and stays below the 2^31 ms a timer can hold.
 */
export const HOLD_TIMEOUT_S = 2_000_000;

/** The hook's decision for a call the policy covers; no decision (Claude Code goes on as it would) for the rest. */
function holdCovered(invocation: AgentInvocation): HookCallback {
  return async (input) => {
    if (input.hook_event_name !== "PreToolUse" || input.tool_name === QUESTION_TOOL) return {};
    if (!invocation.needsApproval(input.tool_name)) return {};
    const toolInput = input.tool_input;
    const decision = await invocation.requestApproval({
      toolName: input.tool_name,
      input: toolInput !== null && typeof toolInput === "object" ? (toolInput as Record<string, unknown>) : {},
    });
    return {
      hookSpecificOutput: {
        hookEventName: "PreToolUse",
        ...(decision.decision === "allow"
          ? { permissionDecision: "allow" }
          : { permissionDecision: "deny", permissionDecisionReason: decision.message ?? DENIED }),
      },
    };
  };
}

/** What Claude Code asks about besides: the question tool's questions go to the client; the rest, not covered, is allowed. */
function canUseTool(invocation: AgentInvocation): CanUseTool {
  return async (toolName, input): Promise<PermissionResult> => {
    if (toolName === QUESTION_TOOL) return answerQuestions(invocation, input);
    const decision = await invocation.requestApproval({ toolName, input });
    if (decision.decision === "allow") return { behavior: "allow", updatedInput: input };
    return { behavior: "deny", message: decision.message ?? DENIED };
  };
}

/**
 * Each of the tool's questions goes to the client in turn; the answers go
 * back as the tool's `answers` (question text -> answer). Unanswered, the
 * tool is denied with the reason, which Claude reads.
 */
async function answerQuestions(invocation: AgentInvocation, input: Record<string, unknown>): Promise<PermissionResult> {
  const questions = Array.isArray(input.questions) ? (input.questions as AskedQuestion[]) : [];
  const answers: Record<string, string> = {};
  for (const asked of questions) {
    const question = typeof asked.question === "string" ? asked.question : "";
    const options = Array.isArray(asked.options)
      ? (asked.options as Array<{ label?: unknown; description?: unknown }>)
          .filter((option) => typeof option.label === "string")
          .map((option) => ({
            label: option.label as string,
            ...(typeof option.description === "string" ? { description: option.description } : {}),
          }))
      : undefined;
    const answer = await invocation.ask({
      question,
      ...(typeof asked.header === "string" ? { header: asked.header } : {}),
      ...(options ? { options } : {}),
      ...(typeof asked.multiSelect === "boolean" ? { multiSelect: asked.multiSelect } : {}),
    });
    if (!answer.answered) return { behavior: "deny", message: answer.message };
    answers[question] = answer.answer;
  }
  return { behavior: "allow", updatedInput: { ...input, answers } };
}
