import { ClientErrorCode } from "@runtimeuse/protocol";
import { type RawData, WebSocket } from "ws";
import { ConnectionError, ProtocolViolationError } from "../errors.js";
import type { Connection, ConnectionHandlers, ConnectTarget, Transport } from "./types.js";
import { redactedUrl } from "./url.js";

/** Options passed through to `ws` for every connection. */
export interface NodeWebSocketTransportOptions {
  /** Negotiate permessage-deflate. Default false: frames are small JSON and compression costs memory. */
  perMessageDeflate?: boolean;
  /**
   * Ping the runtime this often; a connection that has not answered the
   * previous ping is dropped (a silent stall with no FIN then ends the
   * connection, and a resumable one reconnects). Default
   * `DEFAULT_PING_INTERVAL_MS`; `Infinity` turns pings off.
   */
  pingInterval?: number;
}

/** How often the Node transport pings the runtime to find a dead link. */
export const DEFAULT_PING_INTERVAL_MS = 15_000;

function toText(data: RawData): string {
  if (Array.isArray(data)) return Buffer.concat(data).toString("utf8");
  return Buffer.isBuffer(data) ? data.toString("utf8") : Buffer.from(data).toString("utf8");
}

function toBytes(data: RawData): Uint8Array {
  if (Array.isArray(data)) return Buffer.concat(data);
  return data instanceof ArrayBuffer ? new Uint8Array(data) : data;
}

/**
 * The Node.js transport, built on `ws`. The token travels as
 * `Authorization: Bearer <token>`; `headers` are sent with the handshake;
 * `maxFrameBytes` is enforced by `ws` itself (close code 1009); a slow
 * consumer pauses the socket, which pushes back on the runtime through TCP.
 */
export class NodeWebSocketTransport implements Transport {
  /** The resume secret travels as a header (`RuntimeUse-Resume-Secret`). */
  readonly sendsHeaders = true;

  constructor(private readonly options: NodeWebSocketTransportOptions = {}) {}

  connect(target: ConnectTarget, handlers: ConnectionHandlers): Promise<Connection> {
    const where = redactedUrl(target.url);
    return new Promise((resolve, reject) => {
      if (target.signal.aborted) {
        reject(target.signal.reason);
        return;
      }
      const headers: Record<string, string> = { ...target.headers };
      if (target.token !== undefined) headers.Authorization = `Bearer ${target.token}`;
      const ws = new WebSocket(target.url, {
        headers,
        maxPayload: target.maxFrameBytes,
        perMessageDeflate: this.options.perMessageDeflate ?? false,
      });
      let opened = false;
      let settled = false;
      const fail = (error: unknown) => {
        if (settled) return;
        settled = true;
        target.signal.removeEventListener("abort", onAbort);
        ws.terminate();
        reject(error);
      };
      const onAbort = () => fail(target.signal.reason);
      target.signal.addEventListener("abort", onAbort, { once: true });

      ws.on("unexpected-response", (request, response) => {
        const status = `HTTP ${response.statusCode}${response.statusMessage ? ` ${response.statusMessage}` : ""}`;
        const hint = response.statusCode === 401 || response.statusCode === 403 ? " (check the token)" : "";
        response.resume();
        request.destroy();
        fail(
          new ConnectionError(`the runtime at ${where} refused the WebSocket connection: ${status}${hint}`, {
            code: ClientErrorCode.ConnectFailed,
            ...(response.statusCode === undefined ? {} : { status: response.statusCode }),
          }),
        );
      });
      ws.on("open", () => {
        opened = true;
        settled = true;
        target.signal.removeEventListener("abort", onAbort);
        let paused = false;
        watchLiveness(ws, this.options.pingInterval ?? DEFAULT_PING_INTERVAL_MS, () => paused);
        resolve({
          send(frame) {
            if (ws.readyState !== WebSocket.OPEN) throw new ConnectionError("the connection is not open");
            ws.send(frame);
          },
          close() {
            if (ws.readyState === WebSocket.OPEN || ws.readyState === WebSocket.CONNECTING) ws.close(1000);
          },
          drop: () => ws.terminate(),
          pause: () => {
            paused = true;
            ws.pause();
          },
          resume: () => {
            paused = false;
            ws.resume();
          },
        });
      });
      ws.on("error", (error: Error & { code?: string }) => {
        if (opened && error.code === "WS_ERR_UNSUPPORTED_MESSAGE_LENGTH") {
          handlers.onError(
            new ProtocolViolationError(`the runtime sent a frame larger than maxFrameBytes (${target.maxFrameBytes})`, {
              code: ClientErrorCode.FrameTooLarge,
            }),
          );
        } else if (opened) handlers.onError(error);
        else
          fail(
            new ConnectionError(`could not connect to the runtime at ${where}: ${error.message}`, {
              code: ClientErrorCode.ConnectFailed,
              cause: error,
            }),
          );
      });
      ws.on("message", (data, isBinary) => handlers.onMessage(isBinary ? toBytes(data) : toText(data)));
      ws.on("close", (code, reason) => {
        if (opened) handlers.onClose(code, reason.toString("utf8"));
        else
          fail(
            new ConnectionError(`the runtime at ${where} closed the connection during the handshake (code ${code})`, {
              code: ClientErrorCode.ConnectFailed,
            }),
          );
      });
    });
  }
}

/**
 * Pings every `intervalMs`; a socket that did not answer the previous ping is
 * terminated (close 1006). While this side has paused reading, pongs cannot
 * arrive, so no verdict is given.
 */
function watchLiveness(ws: WebSocket, intervalMs: number, paused: () => boolean): void {
  if (!Number.isFinite(intervalMs)) return;
  let answered = true;
  ws.on("pong", () => {
    answered = true;
  });
  const timer = setInterval(() => {
    if (ws.readyState !== WebSocket.OPEN || paused()) return;
    if (!answered) {
      ws.terminate();
      return;
    }
    answered = false;
    ws.ping();
  }, intervalMs);
  timer.unref();
  ws.once("close", () => clearInterval(timer));
}
