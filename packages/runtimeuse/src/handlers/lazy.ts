import type { AgentHandler } from "../handler.js";
import type { ClaudeHandlerOptions } from "./claude/options.js";
import type { OpenAIHandlerOptions } from "./openai/options.js";

export type { ClaudeHandlerOptions } from "./claude/options.js";
export type { OpenAIHandlerOptions, ShellToolOptions } from "./openai/options.js";

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

/** The built-in OpenAI agent (OpenAI Agents SDK) with its options; see docs/AGENTS.md. */
export function createOpenAIHandler(options: OpenAIHandlerOptions = {}): AgentHandler {
  return lazyHandler(async () => (await import("./openai/handler.js")).createOpenAIHandler(options));
}

/** The built-in Claude agent (Claude Agent SDK) with its options; see docs/AGENTS.md. */
export function createClaudeHandler(options: ClaudeHandlerOptions = {}): AgentHandler {
  return lazyHandler(async () => (await import("./claude/handler.js")).createClaudeHandler(options));
}

/** The built-in OpenAI agent with its default options. */
export const openaiHandler: AgentHandler = lazyHandler(async () => (await import("./openai/handler.js")).openaiHandler);

/** The built-in Claude agent with its default options. */
export const claudeHandler: AgentHandler = lazyHandler(async () => (await import("./claude/handler.js")).claudeHandler);
