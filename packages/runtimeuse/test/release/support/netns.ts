import { execFile, spawnSync } from "node:child_process";
import { randomInt } from "node:crypto";
import { promisify } from "node:util";

const run = promisify(execFile);

export interface NetworkNamespace {
  name: string;
  /** The host end of the veth pair and its address. */
  hostLink: string;
  hostAddress: string;
  /** The namespace's end of the pair and its address. */
  sandboxLink: string;
  sandboxAddress: string;
  /** `command` run inside the namespace (`ip netns exec`), as [file, args] for spawn. */
  exec(command: string[]): [string, string[]];
}

/**
 * Fails, with the reason, when this process cannot make network namespaces
 * (it needs `ip` from iproute2 and root). Isolation tests never skip silently.
 */
export async function requireNetworkNamespaces(): Promise<void> {
  try {
    await run("ip", ["-V"]);
  } catch {
    throw new Error(
      "`ip` is not installed: the network namespace tests need iproute2 (Debian: apt-get install iproute2)",
    );
  }
  if (process.getuid?.() !== 0) {
    throw new Error("the network namespace tests need root to run `ip netns add` (CI runs them as root)");
  }
}

/**
 * Runs `body` with a fresh network namespace joined to this one by a veth
 * pair, each end with an address of a random link-local /30 (traffic stays
 * between the two ends, on this machine). The namespace, the links and every
 * process left in the namespace are removed afterwards, also when `body`
 * throws, and at the latest when this process exits.
 */
export async function withNetworkNamespace<T>(body: (namespace: NetworkNamespace) => Promise<T>): Promise<T> {
  const id = randomInt(0x100000, 0xffffff).toString(16);
  // 169.254.169.0/24 is avoided: clouds serve instance metadata there.
  const drawn = randomInt(1, 254);
  const third = drawn === 169 ? 170 : drawn;
  const base = randomInt(0, 64) * 4;
  const namespace: NetworkNamespace = {
    name: `runtimeuse-test-${id}`,
    hostLink: `ruh${id}`,
    sandboxLink: `rus${id}`,
    hostAddress: `169.254.${third}.${base + 1}`,
    sandboxAddress: `169.254.${third}.${base + 2}`,
    exec: (command) => ["ip", ["netns", "exec", `runtimeuse-test-${id}`, ...command]],
  };
  const removeAtExit = () => remove(namespace);
  process.once("exit", removeAtExit);
  try {
    const ip = (...args: string[]) => run("ip", args);
    await ip("netns", "add", namespace.name);
    await ip("link", "add", namespace.hostLink, "type", "veth", "peer", "name", namespace.sandboxLink);
    await ip("link", "set", namespace.sandboxLink, "netns", namespace.name);
    await ip("addr", "add", `${namespace.hostAddress}/30`, "dev", namespace.hostLink);
    await ip("link", "set", namespace.hostLink, "up");
    await ip("-n", namespace.name, "addr", "add", `${namespace.sandboxAddress}/30`, "dev", namespace.sandboxLink);
    await ip("-n", namespace.name, "link", "set", namespace.sandboxLink, "up");
    await ip("-n", namespace.name, "link", "set", "lo", "up");
    return await body(namespace);
  } finally {
    remove(namespace);
    process.removeListener("exit", removeAtExit);
  }
}

/** Kills what runs in the namespace, then deletes it and the host's link; each step tolerates what is already gone. */
function remove(namespace: NetworkNamespace): void {
  const pids = spawnSync("ip", ["netns", "pids", namespace.name], { encoding: "utf8" }).stdout ?? "";
  for (const pid of pids.split("\n").filter(Boolean)) {
    try {
      process.kill(Number(pid), "SIGKILL");
    } catch {}
  }
  spawnSync("ip", ["netns", "del", namespace.name]);
  spawnSync("ip", ["link", "del", namespace.hostLink]);
}

/** Whether the namespace or either link still exists on this machine. */
export function leftovers(namespace: NetworkNamespace): string[] {
  const found: string[] = [];
  const namespaces = spawnSync("ip", ["netns", "list"], { encoding: "utf8" }).stdout ?? "";
  if (namespaces.split("\n").some((line) => line.split(" ")[0] === namespace.name)) found.push(namespace.name);
  for (const link of [namespace.hostLink, namespace.sandboxLink]) {
    if (spawnSync("ip", ["link", "show", link]).status === 0) found.push(link);
  }
  return found;
}
