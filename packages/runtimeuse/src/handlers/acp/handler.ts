import { commandEnv } from "../../commands/index.js";
import type { AgentHandler, AgentInvocation, AgentResult, MessageSender } from "../../handler.js";
import { silentSink } from "../../logger.js";
import { runtimeVersion } from "../../version.js";
import { cancelled, failRun } from "../shared/fail.js";
import type { SpawnSpec } from "./agent-process.js";
import { ACP_DEFAULTS, type AcpAgentOptions, DEFAULT_ACP_PERMISSIONS } from "./options.js";
import { runOnAgent } from "./run.js";
import { type AgentLease, AgentSupervisor } from "./supervisor.js";

/** An ACP agent behind the runtime: a handler that also owns the agent's processes. */
export interface AcpHandler extends AgentHandler {
  readonly name: string;
  /** Starts the agent process for the runtime's own environment; rejects with the reason when it cannot. */
  start(): Promise<void>;
  /** Stops every process of the agent (and what they started). */
  close(): Promise<void>;
}

/**
 * Any ACP agent (`runtimeuse --agent acp -- <command>`, and the presets): the
 * runtime is the ACP client. The agent process is started once (`start()`) and
 * reused: each request opens a new ACP session on it. The process gets the
 * runtime's environment without `hiddenEnv` (the runtime's token), plus `agent_env` (a
 * request with another `agent_env` restarts it, see AgentSupervisor); it is
 * restarted with a backoff when it dies.
 */
export function createAcpHandler(options: AcpAgentOptions): AcpHandler {
  const limits = { ...ACP_DEFAULTS, ...options.limits };
  const log = options.logSink ?? silentSink;
  const cwd = options.cwd ?? process.cwd();
  const spec = (agentEnv: Record<string, string>): SpawnSpec => {
    const env = commandEnv({
      baseEnv: options.baseEnv ?? process.env,
      hiddenEnv: options.hiddenEnv ?? [],
      env: { ...options.defaultEnv, ...agentEnv },
    });
    return {
      label: options.name,
      command: options.command,
      args: options.args ?? [],
      env,
      cwd,
      log,
      startTimeoutMs: limits.startTimeoutMs,
      killGraceMs: limits.killGraceMs,
      version: options.clientVersion ?? runtimeVersion(),
    };
  };
  const supervisor = new AgentSupervisor(spec, limits, log, options.name);
  const settings = {
    name: options.name,
    cwd,
    permissions: options.permissions ?? DEFAULT_ACP_PERMISSIONS,
    showThoughts: options.showThoughts ?? false,
    limits,
  };
  return {
    name: options.name,
    agents: [options.name],
    async start() {
      await supervisor.start();
    },
    close: () => supervisor.close(),
    async run(invocation: AgentInvocation, sender: MessageSender): Promise<AgentResult> {
      if (invocation.signal.aborted) throw cancelled(invocation.signal);
      let lease: AgentLease;
      try {
        lease = await supervisor.acquire(invocation.env, invocation.signal);
      } catch (error) {
        if (invocation.signal.aborted) throw cancelled(invocation.signal);
        failRun(sender, error instanceof Error ? error.message : String(error));
      }
      try {
        return await runOnAgent(lease.agent, invocation, sender, settings);
      } finally {
        lease.release();
      }
    },
  };
}
