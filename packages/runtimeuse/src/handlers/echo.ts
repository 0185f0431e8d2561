import type { AgentHandler } from "../handler.js";

/**
 * A deterministic offline agent, for checking a sandbox end to end without
 * keys: it streams the prompt back as one assistant message and returns it as
 * text, or, when an output schema is asked for, returns the prompt parsed as
 * a JSON object. With a conversation it also records each prompt there and
 * reports the run's number in the conversation as `metadata.turns` (1 for the
 * first run), so conversations can be shown and tested without keys.
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
    if (invocation.outputFormat === undefined) {
      return { type: "text", text: invocation.userPrompt, metadata };
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
    };
  },
};
