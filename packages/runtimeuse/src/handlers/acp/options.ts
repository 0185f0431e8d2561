import { DEFAULT_KILL_GRACE_MS } from "../../commands/index.js";
import type { LogSink } from "../../logger.js";

/** How `session/request_permission` is answered: `allow` picks an allow option, `deny` a reject option. */
export type AcpPermissionPolicy = "allow" | "deny";

export interface AcpAgentOptions {
  /** The name invocations use in their `agent` field and logs use (`acp`, `codex`, ...). */
  name: string;
  /** The agent's executable. */
  command: string;
  args?: readonly string[];
  /**
   * Set in the agent process's environment over the runtime's own, unless the
   * request's `agent_env` sets them.
   */
  defaultEnv?: Record<string, string>;
  /** Default: the runtime's environment. */
  baseEnv?: NodeJS.ProcessEnv;
  /** Variable names never passed to the agent (the CLI passes the runtime's token). */
  hiddenEnv?: readonly string[];
  /** The version the runtime gives in ACP's `clientInfo`; default: this runtime's. */
  clientVersion?: string;
  /** Default `allow`: the sandbox is the boundary. */
  permissions?: AcpPermissionPolicy;
  /** Send the agent's thought chunks to the client (as `[thought] ...` blocks). Default false. */
  showThoughts?: boolean;
  /** The working directory of each ACP session. Default: the runtime's. */
  cwd?: string;
  /** Where the agent's stderr and lifecycle lines are logged. */
  logSink?: LogSink;
  /** Tuning; each has a default in ACP_DEFAULTS. */
  limits?: Partial<AcpLimits>;
}

export interface AcpLimits {
  /** How long `initialize` may take before the agent counts as failed to start. */
  startTimeoutMs: number;
  /** First wait before a dead agent process is started again; doubled after each quick death. */
  restartBackoffMs: number;
  /** Longest wait between restarts. */
  maxRestartBackoffMs: number;
  /** An agent process that lived this long resets the backoff. */
  stableAfterMs: number;
  /** After `session/cancel`, how long the agent gets to end the turn before what it left running is killed. */
  cancelGraceMs: number;
  /** Between SIGTERM and SIGKILL when the agent's processes are ended. */
  killGraceMs: number;
  /** Agent text is sent at the latest this long after its first unsent character. */
  coalesceMs: number;
  /** Largest file `fs/read_text_file` returns. */
  maxReadBytes: number;
  /** Output a terminal keeps for `terminal/output` when the agent sets no `outputByteLimit`. */
  terminalOutputBytes: number;
}

export const ACP_DEFAULTS: AcpLimits = {
  startTimeoutMs: 60_000,
  restartBackoffMs: 200,
  maxRestartBackoffMs: 30_000,
  stableAfterMs: 30_000,
  cancelGraceMs: 2_000,
  killGraceMs: DEFAULT_KILL_GRACE_MS,
  coalesceMs: 50,
  maxReadBytes: 16 * 1024 * 1024,
  terminalOutputBytes: 1024 * 1024,
};

export const DEFAULT_ACP_PERMISSIONS: AcpPermissionPolicy = "allow";
