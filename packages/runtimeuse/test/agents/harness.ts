import { readdirSync, readFileSync } from "node:fs";
import { setTimeout as sleep } from "node:timers/promises";
import type { AgentHandler } from "../../src/handler.js";
import { invocation as baseInvocation, type Frame, RawClient } from "../support/client.js";
import { startTestServer } from "../support/server.js";

export { RawClient } from "../support/client.js";

/** Generous bound for every wait in these tests (a loaded 2-core machine, a real agent process). */
export const WAIT_MS = 90_000;

export type WireMessage = Frame & { message_type: string };

/** Sends a request and reads everything it produced, up to and including its terminal. */
export async function request(
  client: RawClient,
  message: Record<string, unknown>,
): Promise<{ messages: WireMessage[]; terminal: WireMessage }> {
  client.send(message);
  const { frames, terminal } = await client.untilTerminal(WAIT_MS);
  return { messages: frames as WireMessage[], terminal: terminal as WireMessage };
}

export interface Runtime {
  url: string;
  /** Every line the runtime logged (shown when a test fails). */
  logs: string[];
  client(): Promise<RawClient>;
  stop(): Promise<void>;
}

/** A real RuntimeUseServer on a loopback port 0 with the given handler. */
export async function startRuntime(handler: AgentHandler): Promise<Runtime> {
  const server = await startTestServer({ handler });
  const clients: RawClient[] = [];
  return {
    url: server.url,
    logs: server.logs,
    client: async () => {
      const client = await RawClient.connect(server.url);
      clients.push(client);
      return client;
    },
    stop: async () => {
      await Promise.all(clients.map((client) => client.close()));
      await server.close();
    },
  };
}

/** A valid invocation_message, with overrides. */
export function invocation(fields: Record<string, unknown>): Record<string, unknown> {
  return baseInvocation({ system_prompt: "You are a test agent.", model: "scripted-model", ...fields });
}

/** Messages of one type, in order. */
export function ofType(messages: WireMessage[], type: string): WireMessage[] {
  return messages.filter((m) => m.message_type === type);
}

/** All assistant text blocks, in order. */
export function assistantBlocks(messages: WireMessage[]): string[] {
  return ofType(messages, "assistant_message").flatMap((m) => m.text_blocks as string[]);
}

/** True while `pid` names a live process (a zombie counts as gone: it runs nothing). */
export function isAlive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const state = stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3);
    return state !== "Z" && state !== "X";
  } catch {
    return false;
  }
}

/** Waits until `condition()` holds, polling, within `WAIT_MS`. */
export async function waitUntil(condition: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + WAIT_MS;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await sleep(50);
  }
}

export interface ProcessIdentity {
  pid: number;
  /** Start time from /proc/PID/stat, so a reused pid is not mistaken for the process. */
  start: string;
  command: string;
}

function identity(pid: number): (ProcessIdentity & { ppid: number }) | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const close = stat.lastIndexOf(")");
    const fields = stat.slice(close + 2).split(" ");
    if (fields[0] === "Z" || fields[0] === "X") return undefined;
    const command = readFileSync(`/proc/${pid}/cmdline`, "utf8").replaceAll("\0", " ").trim();
    return { pid, ppid: Number(fields[1]), start: fields[19] ?? "", command };
  } catch {
    return undefined;
  }
}

/** Every live process below `root` (this test process by default), read from /proc. */
export function descendants(root = process.pid): ProcessIdentity[] {
  const all = readdirSync("/proc")
    .filter((name) => /^\d+$/.test(name))
    .map((name) => identity(Number(name)))
    .filter((entry) => entry !== undefined);
  const found: ProcessIdentity[] = [];
  const frontier = [root];
  while (frontier.length > 0) {
    const parent = frontier.pop() as number;
    for (const entry of all) {
      if (entry.ppid === parent) {
        found.push({ pid: entry.pid, start: entry.start, command: entry.command });
        frontier.push(entry.pid);
      }
    }
  }
  return found;
}

/** True while the very process `entry` names still runs. */
export function stillRunning(entry: ProcessIdentity): boolean {
  return identity(entry.pid)?.start === entry.start;
}
