import { readdirSync, readFileSync } from "node:fs";

/** The /proc/<pid>/stat fields after the command name: state, ppid, pgrp, ... */
function statFields(pid: number): string[] | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "latin1");
    return stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  } catch {
    return undefined;
  }
}

/**
 * Whether `pid` is a running process. A zombie is dead: on machines where
 * nothing reaps orphans, `process.kill(pid, 0)` would still succeed for it.
 */
export function isRunning(pid: number): boolean {
  const fields = statFields(pid);
  return fields !== undefined && fields[0] !== "Z" && fields[0] !== "X";
}

/** Running processes whose process group is `pgid`. */
export function runningInGroup(pgid: number): number[] {
  const pids: number[] = [];
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    const fields = statFields(Number(name));
    if (fields && fields[2] === String(pgid) && fields[0] !== "Z" && fields[0] !== "X") pids.push(Number(name));
  }
  return pids;
}

/** The command name of a process (`/proc/<pid>/comm`). */
export function commandName(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/comm`, "latin1").trim();
  } catch {
    return "";
  }
}

/** What a process is blocked in (`/proc/<pid>/wchan`). */
export function waitChannel(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/wchan`, "latin1");
  } catch {
    return "";
  }
}

/**
 * Polls `check` until it returns a truthy value. The bound is generous: it
 * exists so that a broken build fails instead of hanging, not to measure speed.
 */
export async function waitFor<T>(
  check: () => T | Promise<T>,
  what: string,
  timeoutMs = 30_000,
): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value as NonNullable<T>;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** SIGKILLs whatever is left in a group (test cleanup). */
export function killGroup(pgid: number): void {
  try {
    process.kill(-pgid, "SIGKILL");
  } catch {}
}
