import type { AgentHandler } from "../handler.js";
import { checkAgentPackages } from "./agent-packages.js";
import type { ClaudeHandlerOptions } from "./claude/options.js";
import type { OpenAIHandlerOptions } from "./openai/options.js";

export type { ClaudeHandlerOptions } from "./claude/options.js";
export type { OpenAIHandlerOptions, ShellToolOptions } from "./openai/options.js";

/**
 * A handler whose module (and SDK) is imported on its first run, so that
 * importing `runtimeuse` never loads an agent SDK nobody uses. A missing SDK
 * fails that run with the command that installs it; the next run tries again.
 */
function lazyHandler(agent: string, load: () => Promise<AgentHandler>): AgentHandler {
  let loading: Promise<AgentHandler> | undefined;
  return {
    async run(invocation, sender) {
      loading ??= loadAgent(agent, load).catch((error: unknown) => {
        loading = undefined;
        throw error;
      });
      return (await loading).run(invocation, sender);
    },
  };
}

async function loadAgent(agent: string, load: () => Promise<AgentHandler>): Promise<AgentHandler> {
  const missing = checkAgentPackages(agent)?.error;
  if (missing !== undefined) throw new Error(missing);
  return load();
}

/** The built-in OpenAI agent (OpenAI Agents SDK) with its options; see docs/AGENTS.md. */
export function createOpenAIHandler(options: OpenAIHandlerOptions = {}): AgentHandler {
  return lazyHandler("openai", async () => (await import("./openai/handler.js")).createOpenAIHandler(options));
}

/** The built-in Claude agent (Claude Agent SDK) with its options; see docs/AGENTS.md. */
export function createClaudeHandler(options: ClaudeHandlerOptions = {}): AgentHandler {
  return lazyHandler("claude", async () => (await import("./claude/handler.js")).createClaudeHandler(options));
}

/** The built-in OpenAI agent with its default options. */
export const openaiHandler: AgentHandler = lazyHandler(
  "openai",
  async () => (await import("./openai/handler.js")).openaiHandler,
);

/** The built-in Claude agent with its default options. */
export const claudeHandler: AgentHandler = lazyHandler(
  "claude",
  async () => (await import("./claude/handler.js")).claudeHandler,
);
