import { readdirSync, readFileSync } from "node:fs";
import { setTimeout as sleep } from "node:timers/promises";
import WebSocket from "ws";
import { RuntimeUseServer } from "../../src/server/server.js";
import type { AgentHandler } from "../../src/types.js";

/** Generous bound for every wait in these tests (a loaded 2-core machine, a real agent process). */
export const WAIT_MS = 90_000;

export type WireMessage = Record<string, unknown> & { message_type: string };

const TERMINALS = new Set(["result_message", "error_message", "command_execution_result_message"]);

/** A raw WebSocket client that records every message the runtime sends. */
export class RawClient {
  readonly messages: WireMessage[] = [];
  private waiters: Array<() => void> = [];

  private constructor(private readonly socket: WebSocket) {
    socket.on("message", (data) => {
      this.messages.push(JSON.parse(String(data)) as WireMessage);
      for (const wake of this.waiters.splice(0)) wake();
    });
    socket.on("close", () => {
      for (const wake of this.waiters.splice(0)) wake();
    });
  }

  static async connect(url: string): Promise<RawClient> {
    const socket = new WebSocket(url);
    await new Promise<void>((resolve, reject) => {
      socket.once("open", () => resolve());
      socket.once("error", reject);
    });
    return new RawClient(socket);
  }

  send(message: Record<string, unknown>): void {
    this.socket.send(JSON.stringify(message));
  }

  /** Waits until a message satisfies `predicate` (searching from `from`), within `WAIT_MS`. */
  async waitFor(predicate: (message: WireMessage) => boolean, from = 0, what = "a message"): Promise<WireMessage> {
    const deadline = Date.now() + WAIT_MS;
    for (;;) {
      const found = this.messages.slice(from).find(predicate);
      if (found) return found;
      if (this.socket.readyState === WebSocket.CLOSED) throw new Error(`connection closed while waiting for ${what}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out waiting for ${what}; got ${JSON.stringify(this.messages)}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  /** Sends a request and resolves with everything it produced, up to and including its terminal. */
  async request(message: Record<string, unknown>): Promise<{ messages: WireMessage[]; terminal: WireMessage }> {
    const from = this.messages.length;
    this.send(message);
    const terminal = await this.waitFor((m) => TERMINALS.has(m.message_type), from, "the request's terminal");
    return { messages: this.messages.slice(from, this.messages.indexOf(terminal) + 1), terminal };
  }

  close(): void {
    this.socket.close();
  }
}

export interface Runtime {
  url: string;
  client(): Promise<RawClient>;
  stop(): Promise<void>;
}

/** A real RuntimeUseServer on a loopback port 0 with the given handler. */
export async function startRuntime(handler: AgentHandler): Promise<Runtime> {
  const server = new RuntimeUseServer({ handler, port: 0, host: "127.0.0.1" });
  const { url } = await server.startListening();
  const clients: RawClient[] = [];
  return {
    url,
    client: async () => {
      const client = await RawClient.connect(url);
      clients.push(client);
      return client;
    },
    stop: async () => {
      for (const client of clients) client.close();
      await server.stop();
    },
  };
}

export function invocation(fields: Record<string, unknown>): Record<string, unknown> {
  return {
    message_type: "invocation_message",
    system_prompt: "You are a test agent.",
    user_prompt: "hello",
    model: "scripted-model",
    secrets_to_redact: [],
    ...fields,
  };
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
