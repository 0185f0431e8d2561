/** What running one shell command came to. Running a command never throws. */
export interface CommandOutcome {
  /**
   * As a shell reports it: the exit status, or 128 + signal number for a
   * signal death. A command killed by cancel or timeout reports 143
   * (SIGTERM) unless it had already exited.
   */
  exitCode: number;
  /** The signal that ended the shell, when one did. */
  signal?: NodeJS.Signals;
  /** The tail of stdout, at most `maxCapturedBytes` UTF-8 bytes (redacted). */
  stdout: string;
  /** The tail of stderr, at most `maxCapturedBytes` UTF-8 bytes (redacted). */
  stderr: string;
  stdoutTruncated: boolean;
  stderrTruncated: boolean;
  /** Killed because `timeoutMs` passed. */
  timedOut: boolean;
  /** Killed because the abort signal fired. */
  cancelled: boolean;
  /**
   * The shell exited on its own while processes it started were still
   * running, and they were left running (`backgroundJobs: "detach"`).
   */
  detachedBackgroundJobs: boolean;
  durationMs: number;
}

export type OutputStream = "stdout" | "stderr";

/**
 * What happens to a command's background jobs when its shell exits on its own:
 * - `"detach"` (default): they keep running, so a command may start a server
 *   for what comes next. Their output stops being forwarded once the shell's
 *   own output is drained (see `exitDrainIdleMs`); their pipes keep being read
 *   and discarded so they do not die of SIGPIPE. The group is remembered and
 *   `killDetachedProcessGroups()` ends it (the server does on stop).
 * - `"kill"`: the whole group is terminated as soon as the shell has exited.
 * Either way, cancel and timeout kill the whole group while the shell runs.
 */
export type BackgroundJobsPolicy = "detach" | "kill";

export interface RunCommandOptions {
  command: string;
  /** Created if missing. Default: the runtime's working directory. */
  cwd?: string;
  /** Merged over `baseEnv`. */
  env?: Record<string, string>;
  /** Default: the runtime's environment. Variables listed in `hiddenEnv` are removed from it. */
  baseEnv?: NodeJS.ProcessEnv;
  /** Variable names never passed down from `baseEnv` (the runtime's auth token). */
  hiddenEnv?: readonly string[];
  /** Kills the whole process group: SIGTERM, then SIGKILL after `killGraceMs`. */
  signal?: AbortSignal;
  /** Kill the group after this long (past `setTimeout`'s range too; `Infinity` never); the outcome reports `timedOut`. Default: none. */
  timeoutMs?: number;
  /** Default `DEFAULT_KILL_GRACE_MS` (2 s). */
  killGraceMs?: number;
  /**
   * On cancel or timeout, resolve once the command's process group is gone
   * (SIGKILL after `killGraceMs`) rather than as soon as it was sent
   * SIGTERM. Default false.
   */
  awaitGroupExit?: boolean;
  /** Cap on each captured stream, in UTF-8 bytes, keeping the tail. Default `DEFAULT_MAX_CAPTURED_BYTES` (1 MiB). */
  maxCapturedBytes?: number;
  /** Removed from everything streamed and captured, also when split across reads. */
  secrets?: readonly string[];
  /** Default `"detach"`. */
  backgroundJobs?: BackgroundJobsPolicy;
  /**
   * After the shell exits, output still arriving is forwarded until the pipes
   * close, or stay quiet this long, or `exitDrainMaxBytes` more bytes came
   * (that much cannot be the shell's leftovers in a pipe buffer), or
   * `exitDrainMaxMs` passed with the listener caught up. Default
   * `DEFAULT_EXIT_DRAIN_IDLE_MS` (100 ms).
   */
  exitDrainIdleMs?: number;
  /** Default `DEFAULT_EXIT_DRAIN_MAX_BYTES` (1 MiB). */
  exitDrainMaxBytes?: number;
  /** Default `DEFAULT_EXIT_DRAIN_MAX_MS` (2 s). */
  exitDrainMaxMs?: number;
  /**
   * Each chunk of output, whole UTF-8 characters, redacted, in order per
   * stream. When it returns a promise that stays pending (the socket is
   * backed up), reading that stream pauses once one more chunk has been
   * handed over, until the listener catches up: memory stays bounded. A listener that throws or rejects
   * gets nothing more; the command keeps running and its output is drained.
   * Not called after a cancel or timeout.
   */
  onOutput?: (stream: OutputStream, text: string) => void | Promise<void>;
}

/** The tail of each stream kept for a command's outcome (and `command_execution_result_message`'s `stdout`). */
export const DEFAULT_MAX_CAPTURED_BYTES = 1024 * 1024;
/** Between SIGTERM and SIGKILL whenever a process group is ended: cancel, timeout, disconnect, shutdown. */
export const DEFAULT_KILL_GRACE_MS = 2000;
export const DEFAULT_EXIT_DRAIN_IDLE_MS = 100;
export const DEFAULT_EXIT_DRAIN_MAX_BYTES = 1024 * 1024;
export const DEFAULT_EXIT_DRAIN_MAX_MS = 2000;
