import type { AgentCheck } from "../shared/check.js";

/**
 * Startup check of the `openai` agent, run before its SDK is loaded: the key
 * must be in the runtime's environment (a client cannot be relied on to send
 * it in `agent_env`).
 */
export function checkOpenAI(env: NodeJS.ProcessEnv): AgentCheck {
  if (!env.OPENAI_API_KEY?.trim()) {
    return { error: "the openai agent needs OPENAI_API_KEY in the environment (or choose another agent with --agent)" };
  }
  return {};
}
