import type { ChildProcess } from "node:child_process";

/**
 * Whether `spawn` started nothing for want of file descriptors (EMFILE,
 * ENFILE). Node then gives the child no pipes at all and reports the failure
 * as an `error` event on the next tick, so a caller that reached for the
 * pipes would throw instead of reporting it.
 */
export function spawnedWithoutPipes(child: ChildProcess): boolean {
  return !child.stdout;
}

/** Why such a process did not start, with Node's own words (`spawn sh EMFILE`) when there are some. */
export function noFreeDescriptors(cause?: string): string {
  return `no file descriptor was free for its pipes (${cause ?? "EMFILE or ENFILE"}); raise the open-files limit (ulimit -n)`;
}
