import { readdir, readFile } from "node:fs/promises";

/**
 * The processes on this machine as Linux's /proc shows them. Both the
 * command runner (the members of a command's process group) and the agents
 * (the tree an agent process started) read them from here.
 */

export interface ProcessEntry {
  pid: number;
  ppid: number;
  pgid: number;
  /** Start time (clock ticks since boot on Linux), so a reused pid is never mistaken for the old process. */
  start: string;
}

/** Most processes a snapshot holds; a runaway fork bomb is cut off here rather than exhausting memory. */
const MAX_PROCESSES = 100_000;

/** Every running process (zombies excluded). Rejects where there is no /proc. */
export async function procProcesses(): Promise<ProcessEntry[]> {
  const names = (await readdir("/proc")).filter((name) => /^\d+$/.test(name)).slice(0, MAX_PROCESSES);
  const entries = await Promise.all(
    names.map(async (name) => {
      try {
        return parseStat(await readFile(`/proc/${name}/stat`, "latin1"));
      } catch {
        return undefined; // exited while listing
      }
    }),
  );
  return entries.filter((entry): entry is ProcessEntry => entry !== undefined);
}

/** `root` and all its descendants among `processes` (by parent pid), root first; empty when `root` is not among them. */
export function treeOf(root: number, processes: readonly ProcessEntry[]): ProcessEntry[] {
  const children = new Map<number, ProcessEntry[]>();
  for (const entry of processes) {
    const siblings = children.get(entry.ppid);
    if (siblings) siblings.push(entry);
    else children.set(entry.ppid, [entry]);
  }
  const rootEntry = processes.find((entry) => entry.pid === root);
  if (!rootEntry) return [];
  const tree: ProcessEntry[] = [rootEntry];
  for (let i = 0; i < tree.length; i++) {
    const current = tree[i] as ProcessEntry;
    for (const child of children.get(current.pid) ?? []) tree.push(child);
  }
  return tree;
}

/**
 * One /proc/PID/stat line: `pid (comm) state ppid pgrp ... starttime(22nd
 * field)`; comm may hold spaces and parentheses. Undefined for a zombie or a
 * dead process (a dead background job stays a zombie where nothing reaps
 * orphans, and would otherwise look alive) and for an unreadable line.
 */
export function parseStat(stat: string): ProcessEntry | undefined {
  const close = stat.lastIndexOf(")");
  if (close < 0) return undefined;
  const pid = Number.parseInt(stat.slice(0, stat.indexOf(" ")), 10);
  const fields = stat.slice(close + 2).split(" ");
  const state = fields[0];
  if (state === "Z" || state === "X") return undefined;
  const ppid = Number.parseInt(fields[1] ?? "", 10);
  const pgid = Number.parseInt(fields[2] ?? "", 10);
  const start = fields[19] ?? "";
  if (!Number.isFinite(pid) || !Number.isFinite(ppid) || !Number.isFinite(pgid)) return undefined;
  return { pid, ppid, pgid, start };
}
