// A lean benchmark client over `ws`: one request at a time per connection,
// resolved on the request's terminal message. Every wait has a time limit.
import { TERMINAL_MESSAGE_TYPES } from "@runtimeuse/protocol";
import { WebSocket } from "ws";

const TERMINALS = new Set(TERMINAL_MESSAGE_TYPES);
/** Both servers put `message_type` first, so assistant messages are counted without parsing them. */
const ASSISTANT_PREFIX = Buffer.from('{"message_type":"assistant_message"');

export const DEFAULT_CONNECT_TIMEOUT_MS = 30_000;
export const DEFAULT_REQUEST_TIMEOUT_MS = 60_000;

/** Opens a connection; rejects on error or after `timeoutMs`. */
export function connect(url, timeoutMs = DEFAULT_CONNECT_TIMEOUT_MS) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { perMessageDeflate: false });
    const timer = setTimeout(() => {
      ws.terminate();
      reject(new Error(`connect timed out after ${timeoutMs} ms`));
    }, timeoutMs);
    ws.once("open", () => {
      clearTimeout(timer);
      ws.off("error", reject);
      resolve(new BenchConnection(ws));
    });
    ws.once("error", (error) => {
      clearTimeout(timer);
      reject(error);
    });
  });
}

export class BenchConnection {
  /** @param {WebSocket} ws */
  constructor(ws) {
    this.ws = ws;
    this.pending = undefined;
    this.closed = new Promise((resolve) => ws.once("close", resolve));
    ws.on("error", () => {});
    ws.on("message", (data) => this.onMessage(data));
    ws.once("close", (code) => this.pending?.fail(new Error(`connection closed (${code}) before the terminal`)));
  }

  onMessage(data) {
    const pending = this.pending;
    if (pending === undefined) return;
    if (
      data.length > ASSISTANT_PREFIX.length &&
      data.compare(ASSISTANT_PREFIX, 0, ASSISTANT_PREFIX.length, 0, ASSISTANT_PREFIX.length) === 0
    ) {
      pending.assistantMessages++;
      pending.onAssistant?.(data);
      return;
    }
    let message;
    try {
      message = JSON.parse(data.toString("utf8"));
    } catch {
      pending.fail(new Error("the server sent a frame that is not JSON"));
      return;
    }
    if (message.message_type === "assistant_message") pending.assistantMessages++;
    else if (TERMINALS.has(message.message_type)) {
      if (message.message_type === "error_message") pending.fail(new Error(`error_message: ${message.error}`));
      else pending.succeed(message);
    }
  }

  /**
   * Sends one request frame (a JSON text) and resolves with
   * `{ terminal, assistantMessages }` on its terminal. An `error_message`,
   * a closed connection or the time limit rejects. `onAssistant(data)`, when
   * given, sees each assistant message's raw frame, in arrival order.
   */
  request(text, timeoutMs = DEFAULT_REQUEST_TIMEOUT_MS, { onAssistant } = {}) {
    if (this.pending) return Promise.reject(new Error("a request is already pending on this connection"));
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => entry.fail(new Error(`no terminal within ${timeoutMs} ms`)), timeoutMs);
      const finish = () => {
        clearTimeout(timer);
        this.pending = undefined;
      };
      const entry = {
        assistantMessages: 0,
        onAssistant,
        succeed: (terminal) => {
          finish();
          resolve({ terminal, assistantMessages: entry.assistantMessages });
        },
        fail: (error) => {
          finish();
          reject(error);
        },
      };
      this.pending = entry;
      this.ws.send(text);
    });
  }

  /** Closes cleanly and waits for the close handshake (terminates after `timeoutMs`). */
  async close(timeoutMs = 10_000) {
    if (this.ws.readyState === WebSocket.CLOSED) return;
    this.ws.close(1000);
    let timer;
    await Promise.race([
      this.closed,
      new Promise((resolve) => {
        timer = setTimeout(() => {
          this.ws.terminate();
          resolve();
        }, timeoutMs);
      }),
    ]);
    clearTimeout(timer);
  }
}
