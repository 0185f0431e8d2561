/**
 * Signalling whole process groups. Every command runs as the leader of a
 * group of its own (`detached: true`), so everything it starts (pipelines,
 * background jobs, their children) can be reached with one negative pid,
 * unless a process deliberately moves to another group or session.
 */

import { type ProcessEntry, procProcesses } from "./processes.js";
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
 * SIGTERM to the group now, SIGKILL after `graceMs` unless the group is gone
 * by then. Returns at once with a promise that resolves once no member is
 * left running (or, should one outlive its SIGKILL, `KILL_SETTLE_MS` after
 * it): callers that report the outcome right away ignore it. The timer keeps
 * the Node process alive on purpose, so a runtime that is shutting down
 * still delivers the SIGKILL, and outlives the members it killed (a signal
 * takes effect when the kernel next runs the process, which on a busy
 * machine can be after the runtime has exited), for `KILL_SETTLE_MS` at the
 * most.
 */
export function terminateGroup(pgid: number, graceMs: number): Promise<void> {
  if (!signalGroup(pgid, "SIGTERM")) return Promise.resolve();
  const deadline = Date.now() + graceMs;
  let killed = false;
  return new Promise((resolve) => {
    // Polling ends the escalation early once no member is left running, so the
    // timer does not hold a stopping runtime for the whole grace period.
    const check = async () => {
      const alive = (await liveGroupMembers(pgid)).length > 0;
      if (!alive) return resolve();
      if (!killed && Date.now() >= deadline) {
        signalGroup(pgid, "SIGKILL");
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
