import { fileURLToPath } from "node:url";
import { type AcpHandler, createAcpHandler } from "../../../src/handlers/acp/handler.js";
import type { AcpAgentOptions } from "../../../src/handlers/acp/options.js";
import { invocation as agentInvocation, type Runtime, startRuntime } from "../../agents/harness.js";
import { memorySink } from "../../support/server.js";

export const SCRIPTED_AGENT = fileURLToPath(new URL("./scripted-agent.mjs", import.meta.url));

export interface AcpRuntime extends Runtime {
  handler: AcpHandler;
  /** Lines the ACP host logged (agent lifecycle, stderr). */
  agentLogs: string[];
}

/** A real runtime on loopback whose agent is the scripted ACP agent (or `options.command`), started. */
export async function startAcpRuntime(options: Partial<AcpAgentOptions> = {}): Promise<AcpRuntime> {
  const agentLogs: string[] = [];
  const handler = createAcpHandler({
    name: "acp",
    command: process.execPath,
    args: [SCRIPTED_AGENT],
    logSink: memorySink(agentLogs),
    ...options,
    limits: { restartBackoffMs: 50, ...options.limits },
  });
  await handler.start();
  const runtime = await startRuntime(handler);
  return {
    ...runtime,
    handler,
    agentLogs,
    stop: async () => {
      await runtime.stop();
      await handler.close();
    },
  };
}

/** An invocation whose user prompt is the scripted agent's scenario. */
export function scenario(script: Record<string, unknown>, fields: Record<string, unknown> = {}) {
  return agentInvocation({ user_prompt: JSON.stringify(script), ...fields });
}
