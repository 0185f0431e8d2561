import type { AgentHandler } from "../handler.js";
import { checkAgentPackages } from "./agent-packages.js";
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
    load: async () => (await import("./openai/handler.js")).openaiHandler,
  },
  claude: {
    description: "Claude Code through the Claude Agent SDK (ANTHROPIC_API_KEY here or in agent_env)",
    check: (env) => checkAgentPackages("claude") ?? checkClaude(env),
    load: async () => (await import("./claude/handler.js")).claudeHandler,
  },
  echo: {
    description: "a deterministic offline agent that echoes the prompt (no keys needed)",
    check: () => ({}),
    load: async () => (await import("./echo.js")).echoHandler,
  },
};

export const DEFAULT_AGENT = "openai";
