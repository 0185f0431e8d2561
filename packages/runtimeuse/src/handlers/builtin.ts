import type { AgentHandler } from "../types.js";

/** A built-in agent the CLI can start with `--agent <name>`. */
export interface BuiltinAgent {
  description: string;
  /** Checked at startup: an error line makes the CLI exit with code 2; warnings are printed. */
  check(env: NodeJS.ProcessEnv): { error?: string; warnings?: string[] };
  /** Loads the agent (and its SDK) only when it is chosen. */
  load(): Promise<AgentHandler>;
}

const notYetAvailable = (name: string): BuiltinAgent => ({
  description: `the ${name} agent`,
  check: () => ({ error: `the ${name} agent is not available in this build of runtimeuse` }),
  load: () => Promise.reject(new Error(`the ${name} agent is not available in this build of runtimeuse`)),
});

export const BUILTIN_AGENTS: Record<string, BuiltinAgent> = {
  openai: notYetAvailable("openai"),
  claude: notYetAvailable("claude"),
  echo: {
    description: "a deterministic offline agent that echoes the prompt (no keys needed)",
    check: () => ({}),
    load: async () => (await import("./echo.js")).echoHandler,
  },
};

export const DEFAULT_AGENT = "openai";
