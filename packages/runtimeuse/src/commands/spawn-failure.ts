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

/**
 * Why `spawn` threw instead of starting a process, in words to act on, Node's
 * own kept in parentheses. Node throws (rather than reporting an `error`
 * event, as it does for EMFILE, ENFILE, ENOENT, EACCES and EAGAIN) for what
 * the system refuses outright, such as E2BIG: the command line and the
 * environment together are larger than `exec` takes (ARG_MAX).
 */
export function spawnRefused(error: unknown): string {
  const words = error instanceof Error ? error.message : String(error);
  if ((error as NodeJS.ErrnoException | undefined)?.code !== "E2BIG") return words;
  return `its command line and environment are larger than the system allows (${words}); pass large data in a file instead`;
}
