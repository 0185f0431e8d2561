import { spawn } from "node:child_process";
import { mkdir } from "node:fs/promises";
import { constants } from "node:os";
import { StringDecoder } from "node:string_decoder";
import { StreamRedactor } from "../redact/stream-redactor.js";
import {
  type CommandOutcome,
  DEFAULT_KILL_GRACE_MS,
  DEFAULT_MAX_CAPTURED_BYTES,
  type OutputStream,
  type RunCommandOptions,
} from "./types.js";

/** After the shell exits, how long to wait for its pipes to reach EOF before leaving them. */
const PIPE_DRAIN_AFTER_EXIT_MS = 100;

/** Keeps the last `limit` characters (approximately bytes for ASCII) of a stream. */
class TailBuffer {
  private chunks: string[] = [];
  private length = 0;
  truncated = false;
  constructor(private readonly limit: number) {}
  push(text: string): void {
    this.chunks.push(text);
    this.length += text.length;
    while (this.length > this.limit && this.chunks.length > 0) {
      const first = this.chunks[0] as string;
      const excess = this.length - this.limit;
      this.truncated = true;
      if (first.length <= excess) {
        this.chunks.shift();
        this.length -= first.length;
      } else {
        this.chunks[0] = first.slice(excess);
        this.length -= excess;
      }
    }
  }
  text(): string {
    return this.chunks.join("");
  }
}

function signalNumber(signal: NodeJS.Signals): number {
  return constants.signals[signal] ?? 0;
}

/** Environment for a child: base, minus hidden names, plus overrides. */
export function commandEnv(options: Pick<RunCommandOptions, "baseEnv" | "hiddenEnv" | "env">): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...(options.baseEnv ?? process.env) };
  for (const name of options.hiddenEnv ?? []) delete env[name];
  return Object.assign(env, options.env);
}

/**
 * Runs one command with `/bin/sh -c` in a process group of its own. Never
 * throws: spawn failures come back as exit code 127 with the reason on stderr.
 */
export async function runCommand(options: RunCommandOptions): Promise<CommandOutcome> {
  const started = performance.now();
  const maxCaptured = options.maxCapturedBytes ?? DEFAULT_MAX_CAPTURED_BYTES;
  const captured = { stdout: new TailBuffer(maxCaptured), stderr: new TailBuffer(maxCaptured) };
  const outcome = (partial: Partial<CommandOutcome> & { exitCode: number }): CommandOutcome => ({
    stdout: captured.stdout.text(),
    stderr: captured.stderr.text(),
    stdoutTruncated: captured.stdout.truncated,
    stderrTruncated: captured.stderr.truncated,
    timedOut: false,
    cancelled: false,
    durationMs: performance.now() - started,
    ...partial,
  });

  if (options.signal?.aborted) return outcome({ exitCode: 130, cancelled: true });
  try {
    if (options.cwd) await mkdir(options.cwd, { recursive: true });
  } catch (error) {
    captured.stderr.push(`cannot create cwd ${options.cwd}: ${(error as Error).message}\n`);
    return outcome({ exitCode: 127 });
  }

  const child = spawn("/bin/sh", ["-c", options.command], {
    cwd: options.cwd || undefined,
    env: commandEnv(options),
    detached: true,
    stdio: ["ignore", "pipe", "pipe"],
  });

  let timedOut = false;
  let cancelled = false;
  let killTimer: NodeJS.Timeout | undefined;
  const killGroup = () => {
    if (child.pid === undefined || killTimer !== undefined) return;
    try {
      process.kill(-child.pid, "SIGTERM");
    } catch {}
    killTimer = setTimeout(() => {
      try {
        if (child.pid !== undefined) process.kill(-child.pid, "SIGKILL");
      } catch {}
    }, options.killGraceMs ?? DEFAULT_KILL_GRACE_MS);
    killTimer.unref();
  };
  const onAbort = () => {
    cancelled = true;
    killGroup();
  };
  options.signal?.addEventListener("abort", onAbort, { once: true });
  const timeout =
    options.timeoutMs !== undefined
      ? setTimeout(() => {
          timedOut = true;
          killGroup();
        }, options.timeoutMs)
      : undefined;

  const pumps = (["stdout", "stderr"] as const).map((name) => pump(name, child[name], options, captured[name]));

  const exit = await new Promise<{ code: number | null; signal: NodeJS.Signals | null; error?: Error }>((resolve) => {
    child.once("error", (error) => resolve({ code: 127, signal: null, error }));
    child.once("exit", (code, signal) => resolve({ code, signal }));
  });
  if (timeout) clearTimeout(timeout);
  options.signal?.removeEventListener("abort", onAbort);
  if (exit.error) captured.stderr.push(`cannot run command: ${exit.error.message}\n`);

  // Background jobs may hold the pipes open after the shell exits; give them a
  // moment, then stop reading so the command's result is not held hostage.
  const drained = Promise.all(pumps);
  let drainTimer: NodeJS.Timeout | undefined;
  const settled = await Promise.race([
    drained.then(() => true),
    new Promise<boolean>((resolve) => {
      drainTimer = setTimeout(() => resolve(false), cancelled || timedOut ? 0 : PIPE_DRAIN_AFTER_EXIT_MS);
    }),
  ]);
  if (drainTimer) clearTimeout(drainTimer);
  if (!settled) {
    child.stdout.destroy();
    child.stderr.destroy();
    await drained;
  }
  if (killTimer && !cancelled && !timedOut) clearTimeout(killTimer);

  const exitCode = exit.signal ? 128 + signalNumber(exit.signal) : (exit.code ?? 1);
  return outcome({
    exitCode,
    ...(exit.signal ? { signal: exit.signal } : {}),
    timedOut,
    cancelled,
  });
}

async function pump(
  name: OutputStream,
  stream: NodeJS.ReadableStream,
  options: RunCommandOptions,
  tail: TailBuffer,
): Promise<void> {
  const decoder = new StringDecoder("utf8");
  const redactor = new StreamRedactor(options.secrets ?? []);
  const emit = async (text: string) => {
    if (text.length === 0) return;
    tail.push(text);
    await options.onOutput?.(name, text);
  };
  try {
    for await (const chunk of stream) {
      await emit(redactor.push(decoder.write(chunk as Buffer)));
    }
  } catch {
    // Destroyed after the shell exited: keep what was read.
  }
  await emit(redactor.push(decoder.end()) + redactor.end());
}
