/**
 * Signalling whole process groups. Every command runs as the leader of a
 * group of its own (`detached: true`), so everything it starts (pipelines,
 * background jobs, their children) can be reached with one negative pid;
 * a process that moved to another group or session is found below the
 * group's leader while it lives (`terminateGroup`).
 */

import { type ProcessEntry, procProcesses, treeOf } from "./processes.js";
import { DEFAULT_KILL_GRACE_MS } from "./types.js";

const TERMINATE_POLL_MS = 50;
/** How long after a SIGKILL the group is still watched for members that have not died yet. */
const KILL_SETTLE_MS = 1_000;

/** Sends `signal` to every process in group `pgid`. False when the group is gone. */
export function signalGroup(pgid: number, signal: NodeJS.Signals | 0): boolean {
  try {
    process.kill(-pgid, signal);
    return true;
  } catch {
    return false;
  }
}

/**
 * Pids of the group's members that are still running (zombies excluded:
 * where nothing reaps orphans, a dead background job stays a zombie and
 * would otherwise look alive). Reads /proc; where there is none, any member
 * the kernel still knows counts, and the result is `[-pgid]`.
 */
export async function liveGroupMembers(pgid: number): Promise<number[]> {
  if (!signalGroup(pgid, 0)) return [];
  let processes: ProcessEntry[];
  try {
    processes = await procProcesses();
  } catch {
    return signalGroup(pgid, 0) ? [-pgid] : [];
  }
  return processes.filter((entry) => entry.pgid === pgid).map((entry) => entry.pid);
}

/**
 * The processes below `leader` (by parent pid) that are not in its group: a
 * command's `setsid server &`, or a program that makes a group of its own. The
 * group's signal does not reach them, so they are signalled themselves (with
 * their own group when they lead one). Found while the leader is alive; one
 * whose parent exited before (a double-forked daemon) is out of reach.
 */
function escapedDescendants(leader: number, processes: readonly ProcessEntry[]): ProcessEntry[] {
  const tree = treeOf(leader, processes);
  // Only below the leader itself: while its group has members, its pid is not given to another process.
  if (tree[0]?.pgid !== leader) return [];
  return tree.slice(1).filter((entry) => entry.pgid !== leader);
}

/** Sends `signal` to an escaped process, and to its group when it leads one. */
function signalEscaped(entry: ProcessEntry, signal: NodeJS.Signals): void {
  if (entry.pgid === entry.pid) signalGroup(entry.pid, signal);
  else {
    try {
      process.kill(entry.pid, signal);
    } catch {}
  }
}

/** Whether `entry` (the same process: same pid and start time) or, for a leader, its group still runs. */
function stillRunning(entry: ProcessEntry, processes: readonly ProcessEntry[]): boolean {
  return processes.some(
    (other) =>
      (other.pid === entry.pid && other.start === entry.start) ||
      (entry.pgid === entry.pid && other.pgid === entry.pid),
  );
}

/**
 * SIGTERM to the group (and to what escaped it from below its leader) now,
 * SIGKILL after `graceMs` unless all are gone by then. Returns at once with a
 * promise that resolves once none is left running (or, should one outlive
 * its SIGKILL, `KILL_SETTLE_MS` after it): callers that report the outcome
 * right away ignore it. The timer keeps the Node process alive on purpose,
 * so a runtime that is shutting down still delivers the SIGKILL, and
 * outlives the processes it killed (a signal takes effect when the kernel
 * next runs the process, which on a busy machine can be after the runtime
 * has exited), for `KILL_SETTLE_MS` at the most.
 */
export async function terminateGroup(pgid: number, graceMs: number): Promise<void> {
  if (!signalGroup(pgid, 0)) return;
  // Read before the SIGTERM: once the leader dies, its children are no longer below it.
  let escaped: ProcessEntry[] = [];
  try {
    escaped = escapedDescendants(pgid, await procProcesses());
  } catch {}
  const termed = signalGroup(pgid, "SIGTERM");
  for (const entry of escaped) signalEscaped(entry, "SIGTERM");
  if (!termed && escaped.length === 0) return;
  const deadline = Date.now() + graceMs;
  let killed = false;
  const running = async (): Promise<boolean> => {
    if (escaped.length === 0) return (await liveGroupMembers(pgid)).length > 0;
    let processes: ProcessEntry[];
    try {
      processes = await procProcesses();
    } catch {
      return signalGroup(pgid, 0);
    }
    escaped = escaped.filter((entry) => stillRunning(entry, processes));
    return escaped.length > 0 || processes.some((entry) => entry.pgid === pgid);
  };
  return new Promise((resolve) => {
    // Polling ends the escalation early once none is left running, so the
    // timer does not hold a stopping runtime for the whole grace period.
    const check = async () => {
      if (!(await running())) return resolve();
      if (!killed && Date.now() >= deadline) {
        signalGroup(pgid, "SIGKILL");
        for (const entry of escaped) signalEscaped(entry, "SIGKILL");
        killed = true;
      }
      if (killed && Date.now() >= deadline + KILL_SETTLE_MS) return resolve();
      setTimeout(check, TERMINATE_POLL_MS);
    };
    setTimeout(check, Math.min(TERMINATE_POLL_MS, graceMs));
  });
}

/**
 * Groups whose shell exited normally while other members (background jobs)
 * were still running. They are left alone (a pre-agent command may start a
 * server the agent then uses) until `killDetachedProcessGroups()`, which the
 * server calls when it stops. Empty groups are pruned so that a pgid reused
 * by an unrelated process later is not signalled.
 */
const detached = new Set<number>();
let pruneTimer: NodeJS.Timeout | undefined;
const PRUNE_INTERVAL_MS = 5_000;

/** Call only for a group known to have live members. */
export function rememberDetachedGroup(pgid: number): void {
  detached.add(pgid);
  if (pruneTimer === undefined) {
    pruneTimer = setInterval(() => void pruneDetachedGroups(), PRUNE_INTERVAL_MS);
    pruneTimer.unref();
  }
}

async function pruneDetachedGroups(): Promise<void> {
  for (const pgid of [...detached]) {
    if ((await liveGroupMembers(pgid)).length === 0) detached.delete(pgid);
  }
  if (detached.size === 0 && pruneTimer !== undefined) {
    clearInterval(pruneTimer);
    pruneTimer = undefined;
  }
}

/** Process groups left running by commands that already finished. */
export async function detachedProcessGroups(): Promise<number[]> {
  await pruneDetachedGroups();
  return [...detached];
}

/**
 * Terminates every group left behind by finished commands (SIGTERM, then
 * SIGKILL after `graceMs`). Returns how many groups were signalled.
 */
export function killDetachedProcessGroups(graceMs = DEFAULT_KILL_GRACE_MS): number {
  let count = 0;
  for (const pgid of detached) {
    if (signalGroup(pgid, 0)) {
      void terminateGroup(pgid, graceMs);
      count++;
    }
  }
  detached.clear();
  if (pruneTimer !== undefined) {
    clearInterval(pruneTimer);
    pruneTimer = undefined;
  }
  return count;
}
