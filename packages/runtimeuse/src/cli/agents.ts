import type { AgentHandler } from "../handler.js";
import {
  type AcpAgentOptions,
  type AcpPresetOptions,
  BUILTIN_AGENTS,
  type BuiltinAgent,
  checkAcpAgent,
  createAgentRouter,
  GENERIC_ACP_AGENT,
  isAcpPreset,
  loadAcpHandler,
  type PackageLocator,
  presetOptions,
} from "../handlers/index.js";
import type { LogSink } from "../logger.js";
import { TOKEN_ENV } from "../server/index.js";
import type { CliOptions } from "./args.js";

export interface StartedAgents {
  /** Answers every invocation, by its `agent` field (the first agent by default). */
  handler: AgentHandler;
  /** Stops the agents' own processes (ACP agents). */
  close(): Promise<void>;
}

export interface AgentStartIo {
  env: NodeJS.ProcessEnv;
  /** Printed before startup goes on: one line each. */
  warn(line: string): void;
  logSink: LogSink;
  locate?: PackageLocator;
}

/** A startup failure: the one line the CLI prints before it exits with code 2. */
export class AgentStartError extends Error {
  override readonly name = "AgentStartError";
}

/**
 * Checks every agent of `--agent` (keys, packages), then loads each and, for
 * ACP agents, starts its process and waits for `initialize`: when the CLI
 * listens, every agent is ready. An agent that fails stops those already
 * started and throws AgentStartError.
 */
export async function startAgents(options: CliOptions, io: AgentStartIo): Promise<StartedAgents> {
  for (const name of options.agents) {
    const check = BUILTIN_AGENTS[name]?.check(io.env) ?? checkAcpAgent(name, io.env, io.locate);
    for (const warning of check.warnings ?? []) io.warn(warning);
    if (check.error) throw new AgentStartError(check.error);
  }
  const started: Array<readonly [string, AgentHandler]> = [];
  const closers: Array<() => Promise<void>> = [];
  const close = async () => {
    await Promise.all(closers.map((stop) => stop()));
  };
  try {
    for (const name of options.agents) {
      const builtin = BUILTIN_AGENTS[name];
      if (builtin) {
        started.push([name, await loadBuiltin(builtin)]);
        continue;
      }
      const settings = {
        baseEnv: io.env,
        hiddenEnv: [TOKEN_ENV],
        permissions: options.acpPermissions,
        showThoughts: options.showThoughts,
        logSink: io.logSink,
      };
      const handler = await loadAcpHandler(
        name === GENERIC_ACP_AGENT
          ? { ...settings, name, ...genericCommand(options) }
          : preset(name, settings, io.locate),
      );
      closers.push(() => handler.close());
      try {
        await handler.start();
      } catch (error) {
        throw new AgentStartError(error instanceof Error ? error.message : String(error));
      }
      started.push([name, handler]);
    }
  } catch (error) {
    await close();
    throw error;
  }
  return { handler: createAgentRouter(started), close };
}

/** A built-in agent's handler; one that cannot load (its SDK, or a package beside it) is a start error saying why. */
async function loadBuiltin(agent: BuiltinAgent): Promise<AgentHandler> {
  try {
    return await agent.load();
  } catch (error) {
    throw new AgentStartError(error instanceof Error ? error.message : String(error));
  }
}

/** A preset's options; the startup checks found its package, so a missing one is an unknown name. */
function preset(name: string, settings: AcpPresetOptions, locate: PackageLocator | undefined): AcpAgentOptions {
  const found = isAcpPreset(name) ? presetOptions(name, settings, locate) : undefined;
  if (found === undefined) throw new AgentStartError(`unknown agent ${name}`);
  return found;
}

function genericCommand(options: CliOptions): { command: string; args: string[] } {
  const [command, ...args] = options.acpCommand ?? [];
  if (command === undefined) throw new AgentStartError(`--agent ${GENERIC_ACP_AGENT} needs a command after "--"`);
  return { command, args };
}
