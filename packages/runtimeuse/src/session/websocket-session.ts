import type { IncomingMessage } from "node:http";
import { ErrorCode, parseClientMessage } from "@runtimeuse/protocol";
import type { RawData, WebSocket } from "ws";
import { corkableOf } from "./outbox.js";
import { Session, type SessionOptions } from "./session.js";

export interface WebSocketSessionOptions extends SessionOptions {
  /**
   * The HTTP upgrade request the connection came with (the second argument of
   * `ws`'s `connection` event). Its socket is the one `ws` writes to: given
   * it, the frames sent in one tick leave in one write. Without it every
   * frame is its own write; nothing else changes.
   */
  upgradeRequest?: Pick<IncomingMessage, "socket">;
}

/**
 * Serves one `ws` connection: the frame edge. Text frames are parsed and
 * validated here and handed to the session as typed messages; binary frames
 * are refused; the socket's close ends the session's transport. Usable on its
 * own by people who run their own `ws` server.
 */
export class WebSocketSession {
  private readonly session: Session;
  /** `ws` found a protocol error on this connection and closes it itself. */
  private protocolError = false;

  constructor(socket: WebSocket, options: WebSocketSessionOptions) {
    const session = new Session(options);
    this.session = session;
    session.outbox.attach(socket, corkableOf(options.upgradeRequest?.socket));
    // The listeners keep only what they use: not `options`, which holds the upgrade request.
    const connection = options.connectionId;
    socket.on("message", (data, isBinary) => session.receive(parseFrame(data, isBinary)));
    socket.on("close", () => session.transportClosed());
    socket.on("error", (error: Error & { code?: string }) => {
      // After a protocol error (a frame over the limit, text that is not UTF-8) ws closes the
      // connection itself, with 1009, 1007...
      if (error.code?.startsWith("WS_ERR_")) this.protocolError = true;
      session.log.write("warn", socketErrorMessage(error.code), {
        connection,
        code: error.code,
        error: error.message,
      });
    });
    if (socket.readyState !== socket.OPEN) session.transportClosed();
  }

  /** True when the runtime closed or dropped the connection (end of session, shutdown, a failure here). */
  get closedByRuntime(): boolean {
    return this.protocolError || this.session.outbox.closedByRuntime;
  }

  /** Resolves once the connection is closed and every runner has returned. */
  done(): Promise<void> {
    return this.session.done();
  }

  get requestInFlight(): boolean {
    return this.session.requestInFlight;
  }

  /** Ends the connection for a runtime shutdown: the request in flight gets its terminal first. */
  shutdown(): Promise<void> {
    return this.session.shutdown();
  }
}

function parseFrame(data: RawData, isBinary: boolean): ReturnType<typeof parseClientMessage> {
  if (isBinary) {
    return {
      ok: false,
      error: { code: ErrorCode.BinaryFrame, message: "binary frames are not accepted; send JSON as a text frame" },
    };
  }
  const text = Array.isArray(data) ? Buffer.concat(data).toString("utf8") : data.toString("utf8");
  return parseClientMessage(text);
}

/** The log line for a transport error; ws closes the connection itself with the code named. */
function socketErrorMessage(code: string | undefined): string {
  switch (code) {
    case "WS_ERR_UNSUPPORTED_MESSAGE_LENGTH":
      return "frame larger than the limit; closing with 1009";
    case "WS_ERR_INVALID_UTF8":
      return "text frame is not valid UTF-8; closing with 1007";
    default:
      return "connection error";
  }
}
