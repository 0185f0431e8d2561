import type { CanUseTool, Options, PermissionResult } from "@anthropic-ai/claude-agent-sdk";
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
 * boundary. With one, it runs in its default mode and asks `canUseTool`,
 * which holds the calls the policy covers for the client's approval and sends
 * the question tool's questions to the client; anything else is allowed.
 */
export function permissionOptions(invocation: AgentInvocation): Partial<Options> {
  if (invocation.approvalPolicy === "never" && !invocation.allowQuestions) {
    return { permissionMode: "bypassPermissions", allowDangerouslySkipPermissions: true };
  }
  return { permissionMode: "default", canUseTool: canUseTool(invocation) };
}

function canUseTool(invocation: AgentInvocation): CanUseTool {
  return async (toolName, input): Promise<PermissionResult> => {
    if (toolName === QUESTION_TOOL) return answerQuestions(invocation, input);
    const decision = await invocation.requestApproval({ toolName, input });
    if (decision.decision === "allow") return { behavior: "allow", updatedInput: input };
    return { behavior: "deny", message: decision.message ?? "The user denied this tool call." };
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
