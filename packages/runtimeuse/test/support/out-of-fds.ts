import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";

const CHILD = fileURLToPath(new URL("./out-of-fds-child.ts", import.meta.url));
/** Low enough that taking every free descriptor is quick, high enough for Node to load its modules. */
const OPEN_FILES_LIMIT = 1024;

export type OutOfFdsKind = "command" | "acp" | "claude" | "artifacts";

export interface OutOfFdsReport {
  /** What starting the process did while no descriptor was free. */
  withoutFds: unknown;
  /** What it did once the descriptors were given back. */
  afterwards: unknown;
  /** Uncaught exceptions the child saw. */
  uncaught: string[];
}

/**
 * Starts a process the way the runtime does for `kind` (a command, an ACP
 * agent, Claude Code) in a child Node process that has first taken every free
 * file descriptor, then again after giving them back.
 */
export async function runOutOfFds(kind: OutOfFdsKind): Promise<OutOfFdsReport> {
  const { stdout } = await promisify(execFile)(
    "/bin/sh",
    ["-c", `ulimit -n ${OPEN_FILES_LIMIT} && exec "$0" --import tsx "$1" "$2"`, process.execPath, CHILD, kind],
    { timeout: 60_000 },
  );
  return JSON.parse(stdout.trim().split("\n").at(-1) ?? "") as OutOfFdsReport;
}
