import type { AgentHandler } from "../handler.js";

/**
 * A handler whose module (and SDK) is imported on its first run, so that
 * importing `runtimeuse` never loads an agent SDK nobody uses.
 */
function lazyHandler(load: () => Promise<AgentHandler>): AgentHandler {
  let loading: Promise<AgentHandler> | undefined;
  return {
    async run(invocation, sender) {
      loading ??= load();
      return (await loading).run(invocation, sender);
    },
  };
}

/** The built-in OpenAI agent (OpenAI Agents SDK); see docs/AGENTS.md. */
export const openaiHandler: AgentHandler = lazyHandler(async () => (await import("./openai/handler.js")).openaiHandler);

/** The built-in Claude agent (Claude Agent SDK); see docs/AGENTS.md. */
export const claudeHandler: AgentHandler = lazyHandler(async () => (await import("./claude/handler.js")).claudeHandler);
