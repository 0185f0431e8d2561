import { ClientErrorCode, ResumeCloseCode } from "@runtimeuse/protocol";
import { ConnectionError, InvalidOptionsError } from "../errors.js";
import type { Connection, ConnectionHandlers, ConnectTarget, Transport } from "./types.js";
import { redactedUrl, withTokenParam } from "./url.js";

/**
 * The part of the WHATWG `WebSocket` this transport uses. Browsers, Deno,
 * Bun, Cloudflare Workers and Node 22+ provide it as `globalThis.WebSocket`.
 */
export interface StandardWebSocket {
  readonly readyState: number;
  binaryType: string;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  onopen: ((event: unknown) => void) | null;
  onmessage: ((event: { data: unknown }) => void) | null;
  onerror: ((event: unknown) => void) | null;
  onclose: ((event: { code: number; reason: string }) => void) | null;
}

export type StandardWebSocketConstructor = new (url: string) => StandardWebSocket;

export interface StandardWebSocketTransportOptions {
  /** The `WebSocket` class to use. Default: `globalThis.WebSocket`. */
  WebSocket?: StandardWebSocketConstructor;
}

const OPEN = 1;

/** The global `WebSocket` class, if this environment has one. */
export function globalWebSocket(): StandardWebSocketConstructor | undefined {
  const candidate = (globalThis as { WebSocket?: unknown }).WebSocket;
  return typeof candidate === "function" ? (candidate as StandardWebSocketConstructor) : undefined;
}

/**
 * A transport over the standard `WebSocket` API. That API cannot set
 * handshake headers, so the token travels as the `?token=` query parameter
 * and `headers` are refused. It has no flow control: a consumer slower than
 * the runtime buffers up to the client's `maxQueuedMessages`.
 */
export class StandardWebSocketTransport implements Transport {
  private readonly WebSocketClass: StandardWebSocketConstructor;

  constructor(options: StandardWebSocketTransportOptions = {}) {
    const found = options.WebSocket ?? globalWebSocket();
    if (!found) {
      throw new InvalidOptionsError(
        "this environment has no global WebSocket: on Node.js import from 'runtimeuse-client/node', or pass a WebSocket class",
      );
    }
    this.WebSocketClass = found;
  }

  connect(target: ConnectTarget, handlers: ConnectionHandlers): Promise<Connection> {
    const where = redactedUrl(target.url);
    return new Promise((resolve, reject) => {
      if (target.headers && Object.keys(target.headers).length > 0) {
        reject(
          new InvalidOptionsError(
            "headers: the standard WebSocket API cannot send handshake headers; use the Node transport ('runtimeuse-client/node')",
          ),
        );
        return;
      }
      if (target.signal.aborted) {
        reject(target.signal.reason);
        return;
      }
      const ws = new this.WebSocketClass(withTokenParam(target.url, target.token));
      ws.binaryType = "arraybuffer";
      let opened = false;
      let settled = false;
      const fail = (error: unknown) => {
        if (settled) return;
        settled = true;
        target.signal.removeEventListener("abort", onAbort);
        // No-op handlers rather than null: some implementations throw on an unhandled error event.
        ws.onopen = ws.onmessage = ws.onerror = ws.onclose = () => {};
        try {
          ws.close();
        } catch {}
        reject(error);
      };
      const onAbort = () => fail(target.signal.reason);
      target.signal.addEventListener("abort", onAbort, { once: true });

      ws.onopen = () => {
        opened = true;
        settled = true;
        target.signal.removeEventListener("abort", onAbort);
        resolve({
          send(frame) {
            if (ws.readyState !== OPEN) throw new ConnectionError("the connection is not open");
            ws.send(frame);
          },
          close() {
            try {
              ws.close(1000);
            } catch {}
          },
          drop() {
            // A browser cannot drop a connection without a close frame; any code but 1000 keeps the session.
            try {
              ws.close(ResumeCloseCode.AttemptDropped, "resume attempt given up");
            } catch {}
          },
        });
      };
      ws.onmessage = (event) => {
        const { data } = event;
        if (typeof data === "string") handlers.onMessage(data);
        else if (data instanceof ArrayBuffer) handlers.onMessage(new Uint8Array(data));
        else if (ArrayBuffer.isView(data))
          handlers.onMessage(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
        else handlers.onMessage(new Uint8Array(0));
      };
      // The standard error event carries no detail; the close event that follows has the code.
      ws.onerror = () => {
        if (opened) handlers.onError(new ConnectionError(`WebSocket error on the connection to ${where}`));
      };
      ws.onclose = (event) => {
        if (opened) handlers.onClose(event.code, event.reason);
        else {
          fail(
            new ConnectionError(`could not connect to the runtime at ${where} (close code ${event.code})`, {
              code: ClientErrorCode.ConnectFailed,
              closeCode: event.code,
              closeReason: event.reason,
            }),
          );
        }
      };
    });
  }
}
