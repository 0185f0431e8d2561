import { readFile } from "node:fs/promises";
import type { LogSink } from "../logger.js";

/**
 * Descriptors the runtime needs besides one per connection: its own files,
 * the pipes of a few commands, an agent's process. A guess on the low side;
 * it only decides whether to warn.
 */
export const DESCRIPTORS_BESIDES_CONNECTIONS = 64;

/**
 * The soft limit on open files, from `/proc/self/limits` (Node has raised it
 * to the hard limit at start); undefined where there is no such file or no
 * limit.
 */
export async function openFilesLimit(limitsFile = "/proc/self/limits"): Promise<number | undefined> {
  let text: string;
  try {
    text = await readFile(limitsFile, "utf8");
  } catch {
    return undefined;
  }
  const soft = /^Max open files\s+(\S+)/m.exec(text)?.[1];
  const limit = soft === undefined ? Number.NaN : Number(soft);
  return Number.isSafeInteger(limit) ? limit : undefined;
}

/**
 * Warns when the open-files limit is reached before `maxConnections` is:
 * a connection the system cannot give a descriptor is closed by the system
 * before the runtime sees it, so the client only sees a hang-up and nothing
 * is logged then. Said once, at start, with what to change.
 */
export async function warnOnFewOpenFiles(log: LogSink, maxConnections: number, limitsFile?: string): Promise<void> {
  const limit = await openFilesLimit(limitsFile);
  if (limit === undefined || limit >= maxConnections + DESCRIPTORS_BESIDES_CONNECTIONS) return;
  log.write(
    "warn",
    `the open-files limit (${limit}) is below what ${maxConnections} connections need: connections past it are hung up on before the runtime sees them; raise it (ulimit -n) or lower --max-connections`,
    { open_files_limit: limit, max_connections: maxConnections },
  );
}
