import type { IncomingMessage } from "node:http";
import {
  ErrorCode,
  type ParseResult,
  parseClientFrame,
  parseClientMessage,
  ResumeCloseCode,
} from "@runtimeuse/protocol";
import type { RawData, WebSocket } from "ws";
import { corkableOf } from "./outbox.js";
import type { Frame } from "./replay-buffer.js";
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
 * Serves one client session over `ws`: the frame edge. Text frames are
 * parsed and validated here and handed to the session as typed messages;
 * binary frames are refused. A plain session lives and dies with its socket.
 * A resumable one (`resumeGraceMs` > 0) outlives it: a drop detaches it, and
 * `resume` attaches the next socket (the newest wins; an older one still
 * open is closed with 4001). Usable on its own by people who run their own
 * `ws` server.
 */
export class WebSocketSession {
  private readonly session: Session;
  private readonly connectionId: string | undefined;
  /** The socket frames go to and come from; undefined while detached. */
  private socket: WebSocket | undefined;
  /** `ws` found a protocol error on the current socket and closes it itself. */
  private protocolError = false;

  constructor(socket: WebSocket, options: WebSocketSessionOptions) {
    this.session = new Session(options);
    // The listeners keep only what they use: not `options`, which holds the upgrade request.
    this.connectionId = options.connectionId;
    const sessionFrame = this.session.takeSessionFrame();
    this.bind(socket, options.upgradeRequest, sessionFrame === undefined ? [] : [sessionFrame]);
  }

  /** True when the runtime closed or dropped the current connection (end of session, shutdown, a failure here). */
  get closedByRuntime(): boolean {
    return this.protocolError || this.session.outbox.closedByRuntime;
  }

  /** The session id of a resumable session (see `resume`). */
  get resumeId(): string | undefined {
    return this.session.resumeId;
  }

  /** True once the session is over for good. */
  get ended(): boolean {
    return this.session.ended;
  }

  /** True when `secret` is this resumable session's resume secret. */
  verifyResume(secret: string | undefined): boolean {
    return this.session.verifyResume(secret);
  }

  /**
   * Attaches `socket` to this resumable session for a client that has every
   * frame up to `lastSeq`: it gets `resumed_message`, the frames after
   * `lastSeq`, then live ones. When some of those were dropped from the
   * replay buffer the socket is closed with 4002 `replay_gap` and the
   * session ends. Returns whether the socket was attached.
   */
  resume(socket: WebSocket, lastSeq: number, upgradeRequest?: Pick<IncomingMessage, "socket">): boolean {
    if (this.session.ended) {
      socket.close(1011, "session ended");
      return false;
    }
    const replay = this.session.resumeAfter(lastSeq);
    if (!replay.ok) {
      this.session.log.write("warn", "resume refused: frames it needs were dropped from the replay buffer", {
        connection: this.connectionId,
        code: ErrorCode.ReplayGap,
        last_seq: lastSeq,
        dropped_through: replay.droppedThrough,
      });
      socket.close(ResumeCloseCode.ReplayGap, ErrorCode.ReplayGap);
      const previous = this.socket;
      this.socket = undefined;
      previous?.close(ResumeCloseCode.Superseded, "superseded");
      this.session.transportClosed();
      return false;
    }
    const previous = this.socket;
    this.bind(socket, upgradeRequest, replay.frames);
    if (previous !== undefined && previous !== socket) {
      this.session.log.write("info", "an older connection of a resumed session closed", {
        connection: this.connectionId,
        code: ResumeCloseCode.Superseded,
      });
      previous.close(ResumeCloseCode.Superseded, "superseded");
    }
    return true;
  }

  /** Resolves once the session is over and every runner has returned. */
  done(): Promise<void> {
    return this.session.done();
  }

  /** Resolves once the session's connection is over for good; its request's runner may still be returning. */
  transportEnded(): Promise<void> {
    return this.session.transportEnded();
  }

  get requestInFlight(): boolean {
    return this.session.requestInFlight;
  }

  /** Ends the connection for a runtime shutdown: the request in flight gets its terminal first. */
  shutdown(): Promise<void> {
    return this.session.shutdown();
  }

  private bind(
    socket: WebSocket,
    upgradeRequest: Pick<IncomingMessage, "socket"> | undefined,
    preface: (string | Frame)[],
  ) {
    const session = this.session;
    const connection = this.connectionId;
    const resumable = session.resumeId !== undefined;
    this.socket = socket;
    this.protocolError = false;
    session.outbox.attach(socket, corkableOf(upgradeRequest?.socket), preface);
    socket.on("message", (data, isBinary) => {
      if (this.socket !== socket) return;
      if (resumable) session.receiveFrame(parseFrame(data, isBinary, parseClientFrame));
      else session.receive(parseFrame(data, isBinary, parseClientMessage));
    });
    socket.on("close", (code: number) => this.closed(socket, code));
    socket.on("error", (error: Error & { code?: string }) => {
      // After a protocol error (a frame over the limit, text that is not UTF-8) ws closes the
      // connection itself, with 1009, 1007...
      if (error.code?.startsWith("WS_ERR_") && this.socket === socket) this.protocolError = true;
      session.log.write("warn", socketErrorMessage(error.code), {
        connection,
        code: error.code,
        error: error.message,
      });
    });
    if (socket.readyState !== socket.OPEN) this.closed(socket, 1006);
  }

  /**
   * A socket closed. Only the current one matters. A plain session ends; a
   * resumable one ends on purpose only (a 1000 close from the client, the
   * runtime ending it, a protocol error) and otherwise waits for a resume.
   */
  private closed(socket: WebSocket, code: number): void {
    if (this.socket !== socket) return;
    this.socket = undefined;
    const onPurpose = code === 1000 || this.protocolError || this.session.ended;
    if (this.session.resumeId === undefined || onPurpose) this.session.transportClosed();
    else this.session.transportDropped();
  }
}

function parseFrame<T>(data: RawData, isBinary: boolean, parse: (text: string) => ParseResult<T>): ParseResult<T> {
  if (isBinary) {
    return {
      ok: false,
      error: { code: ErrorCode.BinaryFrame, message: "binary frames are not accepted; send JSON as a text frame" },
    };
  }
  const text = Array.isArray(data) ? Buffer.concat(data).toString("utf8") : data.toString("utf8");
  return parse(text);
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
