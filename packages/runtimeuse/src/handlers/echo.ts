import type { AgentHandler } from "../handler.js";

/**
 * A deterministic offline agent, for checking a sandbox end to end without
 * keys: it streams the prompt back as one assistant message and returns it as
 * text, or, when an output schema is asked for, returns the prompt parsed as
 * a JSON object.
 */
export const echoHandler: AgentHandler = {
  async run(invocation, sender) {
    await sender.sendAssistantMessage([invocation.userPrompt]);
    if (invocation.outputFormat === undefined) {
      return { type: "text", text: invocation.userPrompt, metadata: { agent: "echo" } };
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
      metadata: { agent: "echo" },
    };
  },
};
