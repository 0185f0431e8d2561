import { zeroUsage } from "@runtimeuse/protocol";
import type { AgentHandler, AgentInvocation, MessageSender } from "../handler.js";

/** `agent_env` names that make the echo agent act like an agent with a person in the loop (docs/AGENTS.md). */
export const ECHO_ENV = {
  /** A command line the echo agent runs as a `shell` tool call, asking for approval when the policy says so. */
  command: "ECHO_COMMAND",
  /** A question the echo agent asks the client before it answers. */
  question: "ECHO_QUESTION",
} as const;

/**
 * A deterministic offline agent, for checking a sandbox end to end without
 * keys: it streams the prompt back as one assistant message and returns it as
 * text, or, when an output schema is asked for, returns the prompt parsed as
 * a JSON object. With a conversation it also records each prompt there and
 * reports the run's number in the conversation as `metadata.turns` (1 for the
 * first run), so conversations can be shown and tested without keys. Told to
 * in `agent_env`, it first runs a command as a tool call (approval and
 * interrupt apply) and asks a question; what happened is added to its text
 * answer, one line each. It calls no model: its usage is zeros.
 */
export const echoHandler: AgentHandler = {
  async run(invocation, sender) {
    await sender.sendAssistantMessage([invocation.userPrompt]);
    const metadata: Record<string, unknown> = { agent: "echo" };
    const conversation = invocation.conversation;
    if (conversation) {
      conversation.append({ prompt: invocation.userPrompt });
      metadata.turns = conversation.runs + 1;
    }
    const report = await actLikeAnAgent(invocation, sender);
    if (report.length > 0 || invocation.interrupted) {
      return { type: "text", text: [invocation.userPrompt, ...report].join("\n"), metadata, usage: zeroUsage() };
    }
    if (invocation.outputFormat === undefined) {
      return { type: "text", text: invocation.userPrompt, metadata, usage: zeroUsage() };
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(invocation.userPrompt);
    } catch {
      throw new Error("echo agent: an output schema was given, so the prompt must be a JSON object");
    }
    if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
      throw new Error("echo agent: an output schema was given, so the prompt must be a JSON object");
    }
    return {
      type: "structured_output",
      structuredOutput: parsed as Record<string, unknown>,
      metadata,
      usage: zeroUsage(),
    };
  },
};

/** The lines of the echo agent's report: `answer: ...`, `shell: exit_code N` or `shell: denied: ...`. */
async function actLikeAnAgent(invocation: AgentInvocation, sender: MessageSender): Promise<string[]> {
  const report: string[] = [];
  const question = invocation.env[ECHO_ENV.question];
  if (question) {
    const answer = await invocation.ask({ question });
    report.push(answer.answered ? `answer: ${answer.answer}` : `no answer: ${answer.message}`);
  }
  const command = invocation.env[ECHO_ENV.command];
  if (command && !invocation.interrupted) {
    await sender.sendAssistantMessage([`[tool] shell: ${command}`]);
    const approval = await invocation.requestApproval({ toolName: "shell", toolKind: "execute", input: { command } });
    if (approval.decision === "deny") {
      report.push(`shell: denied: ${approval.message ?? ""}`);
    } else {
      const outcome = await invocation.runCommand(command);
      report.push(`shell: exit_code ${outcome.exitCode}${outcome.cancelled ? " (killed)" : ""}`);
    }
  }
  return report;
}
