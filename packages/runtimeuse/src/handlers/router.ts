import type { AgentHandler } from "../handler.js";

/**
 * Several agents behind one runtime (`--agent openai,claude,codex`): each
 * invocation runs on the agent its `agent` field names, the first one listed
 * when it names none. The runtime refuses a name outside the list with
 * `unknown_agent` before the request starts (see `AgentHandler.agents`), so
 * `run` only ever sees listed names.
 */
export function createAgentRouter(agents: ReadonlyArray<readonly [name: string, handler: AgentHandler]>): AgentHandler {
  const first = agents[0];
  if (first === undefined) throw new Error("an agent router needs at least one agent");
  const byName = new Map(agents);
  if (byName.size !== agents.length) throw new Error("an agent router needs distinct agent names");
  return {
    agents: agents.map(([name]) => name),
    run(invocation, sender) {
      const handler = invocation.agent === undefined ? first[1] : byName.get(invocation.agent);
      if (handler === undefined) throw new Error(`unknown agent ${JSON.stringify(invocation.agent)}`);
      return handler.run(invocation, sender);
    },
  };
}
