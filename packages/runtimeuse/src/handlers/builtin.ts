import type { AgentHandler } from "../handler.js";
import { AGENT_PACKAGES, checkAgentPackages, installCommand } from "./agent-packages.js";
import { checkClaude } from "./claude/check.js";
import { checkOpenAI } from "./openai/check.js";

/** A built-in agent the CLI can start with `--agent <name>`. */
export interface BuiltinAgent {
  description: string;
  /** Checked at startup: an error line makes the CLI exit with code 2; warnings are printed. */
  check(env: NodeJS.ProcessEnv): { error?: string; warnings?: string[] };
  /** Loads the agent (and its SDK) only when it is chosen. */
  load(): Promise<AgentHandler>;
}

// Each agent's check module imports no SDK; the SDK loads with the handler,
// only when that agent is chosen. The SDKs are optional (agent-packages.ts):
// a missing one fails the check with the command that installs it.
export const BUILTIN_AGENTS: Record<string, BuiltinAgent> = {
  openai: {
    description: "the OpenAI Agents SDK with a shell tool and hosted web search (needs OPENAI_API_KEY)",
    check: (env) => checkAgentPackages("openai") ?? checkOpenAI(env),
    load: () => loadSdk("openai", async () => (await import("./openai/handler.js")).openaiHandler),
  },
  claude: {
    description: "Claude Code through the Claude Agent SDK (ANTHROPIC_API_KEY here or in agent_env)",
    check: (env) => checkAgentPackages("claude") ?? checkClaude(env),
    load: () => loadSdk("claude", async () => (await import("./claude/handler.js")).claudeHandler),
  },
  echo: {
    description: "a deterministic offline agent that echoes the prompt (no keys needed)",
    check: () => ({}),
    load: async () => (await import("./echo.js")).echoHandler,
  },
};

export const DEFAULT_AGENT = "openai";

/**
 * Loads an agent whose packages are installed; one that still cannot load (a
 * package its SDK imports is missing beside it, say) fails with one line:
 * why, and the command that installs its packages again.
 */
async function loadSdk(agent: string, load: () => Promise<AgentHandler>): Promise<AgentHandler> {
  try {
    return await load();
  } catch (error) {
    const why = (error instanceof Error ? error.message : String(error)).split("\n")[0];
    throw new Error(
      `the ${agent} agent could not load its SDK: ${why}; install with: ${installCommand(agent, AGENT_PACKAGES[agent] ?? [])}`,
    );
  }
}
