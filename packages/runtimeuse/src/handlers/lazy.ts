import type { AgentHandler } from "../types.js";
import { checkAgentPackages } from "./agent-packages.js";

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

/** The built-in OpenAI agent (OpenAI Agents SDK); see docs/AGENTS.md. */
export const openaiHandler: AgentHandler = lazyHandler(
  "openai",
  async () => (await import("./openai/handler.js")).openaiHandler,
);

/** The built-in Claude agent (Claude Agent SDK); see docs/AGENTS.md. */
export const claudeHandler: AgentHandler = lazyHandler(
  "claude",
  async () => (await import("./claude/handler.js")).claudeHandler,
);
