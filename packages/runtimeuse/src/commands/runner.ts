import { type ChildProcess, spawn } from "node:child_process";
import { constants } from "node:os";
import { makeDirectory } from "../make-directory.js";
import { afterDelay } from "../timer.js";
import { OutputPump } from "./output-pump.js";
import { liveGroupMembers, rememberDetachedGroup, terminateGroup } from "./process-group.js";
import { noFreeDescriptors, spawnedWithoutPipes, spawnRefused } from "./spawn-failure.js";
import {
  type CommandOutcome,
  DEFAULT_EXIT_DRAIN_IDLE_MS,
  DEFAULT_EXIT_DRAIN_MAX_BYTES,
  DEFAULT_EXIT_DRAIN_MAX_MS,
  DEFAULT_KILL_GRACE_MS,
  DEFAULT_MAX_CAPTURED_BYTES,
  type RunCommandOptions,
} from "./types.js";

const SIGTERM_EXIT_CODE = 128 + (constants.signals.SIGTERM ?? 15);
/** How often the post-exit drain looks at the pipes. */
const DRAIN_POLL_MS = 20;

function exitCodeOf(code: number | null, signal: NodeJS.Signals | null): number {
  if (signal) return 128 + (constants.signals[signal] ?? 0);
  return code ?? 1;
}

/** Environment for a child: base minus hidden names, then the overrides. */
export function commandEnv(options: Pick<RunCommandOptions, "baseEnv" | "hiddenEnv" | "env">): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...(options.baseEnv ?? process.env) };
  for (const name of options.hiddenEnv ?? []) delete env[name];
  return Object.assign(env, options.env);
}

type Ending =
  | { kind: "exit"; code: number | null; signal: NodeJS.Signals | null }
  | { kind: "error"; error: Error }
  | { kind: "cancel" }
  | { kind: "timeout" };

/**
 * Runs one command with `/bin/sh -c` in a process group of its own, stdin
 * empty. Never throws: a command that cannot start comes back as exit code
 * 127 with the reason on stderr.
 *
 * Cancel and timeout resolve as soon as the group has been sent SIGTERM (the
 * SIGKILL that follows after the grace period is not waited for), or, with
 * `awaitGroupExit`, once the group is gone.
 */
export async function runCommand(options: RunCommandOptions): Promise<CommandOutcome> {
  const started = performance.now();
  const maxCaptured = options.maxCapturedBytes ?? DEFAULT_MAX_CAPTURED_BYTES;
  const base = { timedOut: false, cancelled: false, detachedBackgroundJobs: false };
  const early = (exitCode: number, stderr: string, cancelled = false): CommandOutcome => ({
    ...base,
    exitCode,
    stdout: "",
    stderr,
    stdoutTruncated: false,
    stderrTruncated: false,
    cancelled,
    durationMs: performance.now() - started,
  });

  if (options.signal?.aborted) return early(SIGTERM_EXIT_CODE, "", true);
  try {
    if (options.cwd) await makeDirectory(options.cwd);
  } catch (error) {
    const message = `cannot create cwd ${options.cwd}: ${(error as Error).message}\n`;
    await notify(options, message);
    return early(127, message);
  }
  if (options.signal?.aborted) return early(SIGTERM_EXIT_CODE, "", true);

  let child: ChildProcess;
  try {
    child = spawn("/bin/sh", ["-c", options.command], {
      cwd: options.cwd || undefined,
      env: commandEnv(options),
      detached: true,
      stdio: ["ignore", "pipe", "pipe"],
    });
  } catch (error) {
    const message = `cannot run command: ${spawnRefused(error)}\n`;
    await notify(options, message);
    return early(127, message);
  }
  if (spawnedWithoutPipes(child)) {
    const error = await new Promise<Error>((resolve) => child.once("error", resolve));
    const message = `cannot run command: ${noFreeDescriptors(error.message)}\n`;
    await notify(options, message);
    return early(127, message);
  }
  const secrets = options.secrets ?? [];
  const pumps = {
    stdout: new OutputPump(
      "stdout",
      child.stdout as NonNullable<typeof child.stdout>,
      secrets,
      maxCaptured,
      options.onOutput,
    ),
    stderr: new OutputPump(
      "stderr",
      child.stderr as NonNullable<typeof child.stderr>,
      secrets,
      maxCaptured,
      options.onOutput,
    ),
  };
  const ending = await firstEnding(child, options);
  const pgid = child.pid;
  const outcome = (exitCode: number, extra: Partial<CommandOutcome> = {}): CommandOutcome => ({
    ...base,
    exitCode,
    stdout: pumps.stdout.captured.text(),
    stderr: pumps.stderr.captured.text(),
    stdoutTruncated: pumps.stdout.captured.truncated,
    stderrTruncated: pumps.stderr.captured.truncated,
    durationMs: performance.now() - started,
    ...extra,
  });

  if (ending.kind === "cancel" || ending.kind === "timeout") {
    if (pgid !== undefined) await ended(pgid, options);
    pumps.stdout.stop();
    pumps.stderr.stop();
    const exited = child.exitCode !== null || child.signalCode !== null;
    return outcome(exited ? exitCodeOf(child.exitCode, child.signalCode) : SIGTERM_EXIT_CODE, {
      ...(exited ? (child.signalCode ? { signal: child.signalCode } : {}) : { signal: "SIGTERM" as const }),
      cancelled: ending.kind === "cancel",
      timedOut: ending.kind === "timeout",
    });
  }

  if (ending.kind === "error") {
    const message = `cannot run command: ${ending.error.message}\n`;
    pumps.stdout.stop();
    pumps.stderr.stop();
    pumps.stderr.captured.push(message);
    await notify(options, message);
    return outcome(127);
  }

  pumps.stdout.markExit();
  pumps.stderr.markExit();
  const drained = await drainAfterExit(Object.values(pumps), options);
  if (drained === "cancel") {
    if (pgid !== undefined) await ended(pgid, options);
    pumps.stdout.stop();
    pumps.stderr.stop();
    return outcome(exitCodeOf(ending.code, ending.signal), { cancelled: true });
  }
  if (drained === "lingering") await Promise.all([pumps.stdout.detach(), pumps.stderr.detach()]);
  // Background jobs may have outlived the shell, holding the pipes or not.
  const lingering = pgid !== undefined && (await liveGroupMembers(pgid)).length > 0;
  if (lingering) {
    if (options.backgroundJobs === "kill") void terminateGroup(pgid, options.killGraceMs ?? DEFAULT_KILL_GRACE_MS);
    else rememberDetachedGroup(pgid);
  }
  return outcome(exitCodeOf(ending.code, ending.signal), {
    ...(ending.signal ? { signal: ending.signal } : {}),
    detachedBackgroundJobs: lingering && options.backgroundJobs !== "kill",
  });
}

/** Terminates the group; waits until it is gone only when the caller asked (`awaitGroupExit`). */
async function ended(pgid: number, options: RunCommandOptions): Promise<void> {
  const gone = terminateGroup(pgid, options.killGraceMs ?? DEFAULT_KILL_GRACE_MS);
  if (options.awaitGroupExit) await gone;
}

/** Resolves with whichever comes first: the shell's exit, a spawn error, cancel, timeout. */
function firstEnding(child: ChildProcess, options: RunCommandOptions): Promise<Ending> {
  return new Promise((resolve) => {
    let cancelTimer: (() => void) | undefined;
    const settle = (ending: Ending) => {
      cancelTimer?.();
      options.signal?.removeEventListener("abort", onAbort);
      resolve(ending);
    };
    const onAbort = () => settle({ kind: "cancel" });
    options.signal?.addEventListener("abort", onAbort, { once: true });
    if (options.timeoutMs !== undefined) cancelTimer = afterDelay(options.timeoutMs, () => settle({ kind: "timeout" }));
    child.once("error", (error) => settle({ kind: "error", error }));
    child.once("exit", (code, signal) => settle({ kind: "exit", code, signal }));
  });
}

/**
 * After the shell exits, keeps forwarding until both pipes close ("complete")
 * or the remaining holders look like background jobs ("lingering": quiet for
 * the idle window, too many bytes, or too long with the listener caught up).
 */
function drainAfterExit(pumps: OutputPump[], options: RunCommandOptions): Promise<"complete" | "lingering" | "cancel"> {
  const idleMs = options.exitDrainIdleMs ?? DEFAULT_EXIT_DRAIN_IDLE_MS;
  const maxBytes = options.exitDrainMaxBytes ?? DEFAULT_EXIT_DRAIN_MAX_BYTES;
  const maxMs = options.exitDrainMaxMs ?? DEFAULT_EXIT_DRAIN_MAX_MS;
  const started = performance.now();
  return new Promise((resolve) => {
    let poll: NodeJS.Timeout | undefined;
    const settle = (result: "complete" | "lingering" | "cancel") => {
      if (poll) clearInterval(poll);
      options.signal?.removeEventListener("abort", onAbort);
      resolve(result);
    };
    const onAbort = () => settle("cancel");
    if (options.signal?.aborted) return settle("cancel");
    options.signal?.addEventListener("abort", onAbort, { once: true });
    void Promise.all(pumps.map((pump) => pump.done)).then(() => settle("complete"));
    const seen = new Map<OutputPump, number>();
    poll = setInterval(() => {
      const open = pumps.filter((pump) => !pump.ended);
      if (open.length === 0) return;
      const now = performance.now();
      // Quiet means: idle long enough and nothing happened since the previous check.
      const quiet = open.every((pump) => pump.idleMs(now) >= idleMs && seen.get(pump) === pump.activity);
      for (const pump of open) seen.set(pump, pump.activity);
      const flooded = open.some((pump) => pump.bytesAfterExit >= maxBytes);
      const overdue = now - started >= maxMs && open.every((pump) => !pump.busy);
      if (quiet || flooded || overdue) settle("lingering");
    }, DRAIN_POLL_MS);
  });
}

/** Reports a runtime-side failure to the listener as stderr text. */
async function notify(options: RunCommandOptions, message: string): Promise<void> {
  try {
    await options.onOutput?.("stderr", message);
  } catch {}
}
