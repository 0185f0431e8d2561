import { TERMINAL_MESSAGE_TYPES } from "@runtimeuse/protocol";
import { WebSocket } from "ws";

export type Frame = Record<string, unknown> & { message_type?: string };

const TERMINALS = new Set<string>(TERMINAL_MESSAGE_TYPES);

/**
 * A raw `ws` client for tests: sends objects or raw text, and reads frames in
 * order with a bounded wait.
 */
export class RawClient {
  readonly frames: Frame[] = [];
  private cursor = 0;
  private waiters: Array<() => void> = [];
  closeCode: number | undefined;
  readonly closed: Promise<number>;

  private constructor(readonly ws: WebSocket) {
    ws.on("message", (data) => {
      this.frames.push(JSON.parse(String(data)) as Frame);
      this.wake();
    });
    this.closed = new Promise((resolve) =>
      ws.on("close", (code) => {
        this.closeCode = code;
        this.wake();
        resolve(code);
      }),
    );
  }

  static async connect(url: string, options: ConstructorParameters<typeof WebSocket>[2] = {}): Promise<RawClient> {
    const ws = new WebSocket(url, options);
    const client = new RawClient(ws);
    await new Promise<void>((resolve, reject) => {
      ws.once("open", () => resolve());
      ws.once("error", reject);
    });
    return client;
  }

  send(message: unknown): void {
    this.ws.send(typeof message === "string" ? message : JSON.stringify(message));
  }

  /** The next unread frame, waiting up to `timeoutMs`. */
  async next(timeoutMs = 20_000): Promise<Frame> {
    const deadline = Date.now() + timeoutMs;
    while (this.cursor >= this.frames.length) {
      if (this.closeCode !== undefined)
        throw new Error(`connection closed (${this.closeCode}) while waiting for a frame`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no frame within ${timeoutMs} ms; got ${JSON.stringify(this.frames.slice(-5))}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    return this.frames[this.cursor++] as Frame;
  }

  /** Reads frames until one of the given type, returning all read (that one last). */
  async until(type: string, timeoutMs = 20_000): Promise<Frame[]> {
    const read: Frame[] = [];
    for (;;) {
      const frame = await this.next(timeoutMs);
      read.push(frame);
      if (frame.message_type === type) return read;
    }
  }

  /** Reads frames up to and including the request's terminal. */
  async untilTerminal(timeoutMs = 20_000): Promise<{ frames: Frame[]; terminal: Frame }> {
    const frames: Frame[] = [];
    for (;;) {
      const frame = await this.next(timeoutMs);
      frames.push(frame);
      if (TERMINALS.has(String(frame.message_type))) return { frames, terminal: frame };
    }
  }

  /** Waits `ms` and returns the frames that arrived meanwhile (for "nothing more was sent" checks). */
  async drain(ms: number): Promise<Frame[]> {
    await new Promise((resolve) => setTimeout(resolve, ms));
    const rest = this.frames.slice(this.cursor);
    this.cursor = this.frames.length;
    return rest;
  }

  async close(): Promise<void> {
    if (this.ws.readyState === WebSocket.OPEN || this.ws.readyState === WebSocket.CONNECTING) this.ws.close();
    await this.closed;
  }

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const wake of waiters) wake();
  }
}

/** A minimal valid invocation_message, with overrides. */
export function invocation(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    message_type: "invocation_message",
    system_prompt: "sys",
    user_prompt: "hello",
    model: "test-model",
    ...overrides,
  };
}

/** A command_execution_message for the given shell commands. */
export function commands(list: Array<string | Record<string, unknown>>, overrides: Record<string, unknown> = {}) {
  return {
    message_type: "command_execution_message",
    commands: list.map((command) => (typeof command === "string" ? { command } : command)),
    ...overrides,
  };
}

/** Polls `condition` until it holds, up to `timeoutMs`. */
export async function waitFor(condition: () => boolean | Promise<boolean>, timeoutMs = 20_000, what = "condition") {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** True while a process with this pid exists. */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
