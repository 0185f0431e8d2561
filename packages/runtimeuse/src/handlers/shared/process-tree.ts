import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import { type ProcessEntry, procProcesses, treeOf } from "../../commands/index.js";

/**
 * Finding and ending every process an agent process started. Claude Code
 * runs each Bash command in a process group of its own, so killing the agent's
 * group is not enough: the tree is walked by parent pid instead, while the
 * agent is still alive to be its root.
 */

export type { ProcessEntry };

/** Every process on the machine, from /proc (Linux) or `ps` elsewhere. */
export async function listProcesses(): Promise<ProcessEntry[]> {
  try {
    return await procProcesses();
  } catch {
    return await fromPs();
  }
}

function fromPs(): Promise<ProcessEntry[]> {
  return new Promise((resolve) => {
    execFile(
      "ps",
      ["-A", "-o", "pid=,ppid=,pgid=,lstart="],
      { maxBuffer: 64 * 1024 * 1024, timeout: 10_000 },
      (error, stdout) => {
        if (error) return resolve([]);
        const entries: ProcessEntry[] = [];
        for (const line of stdout.split("\n")) {
          const match = /^\s*(\d+)\s+(\d+)\s+(\d+)\s+(.*)$/.exec(line);
          if (match) {
            entries.push({
              pid: Number(match[1]),
              ppid: Number(match[2]),
              pgid: Number(match[3]),
              start: match[4] ?? "",
            });
          }
        }
        resolve(entries);
      },
    );
  });
}

/** `root` and all its live descendants, root first. */
export async function processTree(root: number): Promise<ProcessEntry[]> {
  return treeOf(root, await listProcesses());
}

/** Those of `entries` still running as the same process (same pid and start time). */
export async function survivors(entries: readonly ProcessEntry[]): Promise<ProcessEntry[]> {
  if (entries.length === 0) return [];
  const live = new Map((await listProcesses()).map((entry) => [entry.pid, entry]));
  return entries.filter((entry) => live.get(entry.pid)?.start === entry.start);
}

/**
 * Sends `signal` to each entry and, for a group leader, to its whole group
 * (which also reaches processes it started after the snapshot). A leader in
 * the tree leads a group of its own making: the runtime's group is led by the
 * runtime or one of its ancestors, which are never in an agent's tree.
 */
export function signalAll(entries: readonly ProcessEntry[], signal: NodeJS.Signals): void {
  for (const entry of entries) {
    if (entry.pid === process.pid) continue;
    if (entry.pgid === entry.pid) {
      try {
        process.kill(-entry.pgid, signal);
      } catch {}
    }
    try {
      process.kill(entry.pid, signal);
    } catch {}
  }
}

/**
 * Ends `entries`: SIGTERM to each (and to the groups they lead), then SIGKILL
 * to whatever still runs after `graceMs`. Resolves with the entries that got
 * SIGKILL.
 */
export async function endProcesses(entries: readonly ProcessEntry[], graceMs: number): Promise<ProcessEntry[]> {
  if (entries.length === 0) return [];
  signalAll(entries, "SIGTERM");
  const deadline = Date.now() + graceMs;
  let left = await survivors(entries);
  while (left.length > 0 && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 50));
    left = await survivors(left);
  }
  if (left.length > 0) signalAll(left, "SIGKILL");
  return left;
}

/** Linux's USER_HZ: the unit of the start times in /proc/PID/stat on every mainstream architecture. */
const CLOCK_TICKS_PER_SECOND = 100;

/**
 * Now, in the unit of `ProcessEntry.start` on Linux (clock ticks since boot),
 * from one read of /proc/uptime; undefined where there is no /proc. Lets a
 * caller tell the processes started after a moment from those before it
 * without listing every process at that moment.
 */
export function clockTicksNow(): number | undefined {
  try {
    const uptime = Number.parseFloat(readFileSync("/proc/uptime", "utf8"));
    return Number.isFinite(uptime) ? Math.floor(uptime * CLOCK_TICKS_PER_SECOND) : undefined;
  } catch {
    return undefined;
  }
}
