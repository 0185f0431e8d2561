// No SDK import here: the package root exports these types without loading
// (or, for type checks, needing) the Claude Agent SDK.

/** How long a finished run waits for the Claude Code process to exit before ending it. */
export const DEFAULT_EXIT_TIMEOUT_MS = 10_000;

export interface ClaudeHandlerOptions {
  /** Claude Code binary. Default: the one shipped with the SDK for this platform. */
  pathToClaudeCodeExecutable?: string;
  /** Working directory of the agent. Default: the runtime's. */
  cwd?: string;
  /** Model turns before the run stops with an error. Default: no limit of ours (the SDK's). */
  maxTurns?: number;
  /** Between SIGTERM and SIGKILL when a cancelled run's processes are ended. Default the command runner's (`DEFAULT_KILL_GRACE_MS`, 2 s). */
  killGraceMs?: number;
  /** How long a finished run waits for the Claude Code process to exit before ending it. Default `DEFAULT_EXIT_TIMEOUT_MS` (10 s). */
  exitTimeoutMs?: number;
}
