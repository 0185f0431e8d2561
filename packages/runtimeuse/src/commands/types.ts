/** What running one shell command came to. Running a command never throws. */
export interface CommandOutcome {
  /** As a shell reports it: the exit status, or 128 + signal number for a signal death. */
  exitCode: number;
  /** The signal that ended the shell, when one did. */
  signal?: NodeJS.Signals;
  /** The tail of stdout, at most `maxCapturedBytes` (redacted). */
  stdout: string;
  /** The tail of stderr, at most `maxCapturedBytes` (redacted). */
  stderr: string;
  stdoutTruncated: boolean;
  stderrTruncated: boolean;
  /** Killed because `timeoutMs` passed. */
  timedOut: boolean;
  /** Killed because the abort signal fired. */
  cancelled: boolean;
  durationMs: number;
}

export type OutputStream = "stdout" | "stderr";

export interface RunCommandOptions {
  command: string;
  /** Created if missing. Default: the runtime's working directory. */
  cwd?: string;
  /** Merged over `baseEnv`. */
  env?: Record<string, string>;
  /** Default: the runtime's environment, minus variables listed in `hiddenEnv`. */
  baseEnv?: NodeJS.ProcessEnv;
  /** Variable names never passed to the command (the runtime's auth token). */
  hiddenEnv?: readonly string[];
  /** Kills the whole process group: SIGTERM, then SIGKILL after `killGraceMs`. */
  signal?: AbortSignal;
  timeoutMs?: number;
  /** Default 2000. */
  killGraceMs?: number;
  /** Cap on each captured stream, keeping the tail. Default 1 MiB. */
  maxCapturedBytes?: number;
  /** Removed from everything streamed and captured, also when split across reads. */
  secrets?: readonly string[];
  /**
   * Each chunk of output, whole UTF-8 characters, redacted, in order per
   * stream. When it returns a promise, reading that stream pauses until it
   * settles (backpressure from the socket).
   */
  onOutput?: (stream: OutputStream, text: string) => void | Promise<void>;
}

export const DEFAULT_MAX_CAPTURED_BYTES = 1024 * 1024;
export const DEFAULT_KILL_GRACE_MS = 2000;
