import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { Duplex } from "node:stream";
import { type WebSocket, WebSocketServer } from "ws";
import { type LogSink, silentSink } from "../logger.js";
import { WebSocketSession, type WebSocketSessionOptions } from "../session/websocket-session.js";

export interface RuntimeUseServerOptions extends Omit<WebSocketSessionOptions, "connectionId"> {
  /** Default 8080; 0 picks a free port. */
  port?: number;
  /** Default 0.0.0.0. */
  host?: string;
  /** Largest accepted incoming frame in bytes; larger ones close the connection with 1009. Default 16 MiB. */
  maxFrameBytes?: number;
}

export interface ListeningAddress {
  host: string;
  port: number;
  /** A `ws://` URL a local client can use (loopback when bound to every interface). */
  url: string;
}

export const DEFAULT_PORT = 8080;
export const DEFAULT_HOST = "0.0.0.0";
export const DEFAULT_MAX_FRAME_BYTES = 16 * 1024 * 1024;

/**
 * The runtime's WebSocket server: one `WebSocketSession` per connection, each
 * with its own request. `stop()` gives every in-flight request its terminal
 * before the connections close.
 */
export class RuntimeUseServer {
  private readonly options: RuntimeUseServerOptions;
  private readonly log: LogSink;
  private readonly sessions = new Set<WebSocketSession>();
  private http: Server | undefined;
  private wss: WebSocketServer | undefined;
  private nextConnection = 1;
  private address: ListeningAddress | undefined;

  constructor(options: RuntimeUseServerOptions) {
    this.options = options;
    this.log = options.logSink ?? silentSink;
  }

  /** Number of open connections. */
  get connectionCount(): number {
    return this.sessions.size;
  }

  /** Number of requests in flight across all connections. */
  get requestsInFlight(): number {
    let count = 0;
    for (const session of this.sessions) if (session.requestInFlight) count++;
    return count;
  }

  /** Starts listening; resolves with the bound address (port 0 resolves to the real port). */
  async startListening(): Promise<ListeningAddress> {
    if (this.address) return this.address;
    const http = createServer((_request, response) => {
      response.writeHead(426, { "content-type": "text/plain", connection: "close" });
      response.end("runtimeuse speaks WebSocket: connect with a WebSocket client\n");
    });
    const wss = new WebSocketServer({
      noServer: true,
      maxPayload: this.options.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES,
    });
    http.on("upgrade", (request: IncomingMessage, socket: Duplex, head: Buffer) => {
      socket.on("error", () => socket.destroy());
      wss.handleUpgrade(request, socket, head, (ws) => this.accept(ws, request));
    });
    http.on("clientError", (_error, socket) => socket.destroy());
    const host = this.options.host ?? DEFAULT_HOST;
    await new Promise<void>((resolve, reject) => {
      const onError = (error: NodeJS.ErrnoException) => {
        http.off("listening", onListening);
        reject(
          error.code === "EADDRINUSE"
            ? Object.assign(new Error(`port ${this.options.port ?? DEFAULT_PORT} is already in use on ${host}`), {
                code: "EADDRINUSE",
              })
            : error,
        );
      };
      const onListening = () => {
        http.off("error", onError);
        resolve();
      };
      http.once("error", onError);
      http.once("listening", onListening);
      http.listen(this.options.port ?? DEFAULT_PORT, host);
    });
    this.http = http;
    this.wss = wss;
    const bound = http.address() as AddressInfo;
    const urlHost = host === "0.0.0.0" || host === "::" ? "127.0.0.1" : host.includes(":") ? `[${host}]` : host;
    this.address = { host, port: bound.port, url: `ws://${urlHost}:${bound.port}` };
    this.log.write("info", "listening", { url: `ws://${host}:${bound.port}` });
    return this.address;
  }

  /**
   * Stops accepting, gives each in-flight request its terminal, closes every
   * connection (1001) and waits for their runners to return.
   */
  async stop(): Promise<void> {
    const http = this.http;
    if (!http) return;
    this.http = undefined;
    this.address = undefined;
    const closing = new Promise<void>((resolve) => http.close(() => resolve()));
    await Promise.all([...this.sessions].map((session) => session.shutdown()));
    this.wss?.close();
    http.closeAllConnections();
    await closing;
  }

  private accept(ws: WebSocket, request: IncomingMessage): void {
    const connectionId = String(this.nextConnection++);
    const session = new WebSocketSession(ws, { ...this.options, connectionId, logSink: this.log });
    this.sessions.add(session);
    this.log.write("info", "connection open", { connection: connectionId, remote: request.socket.remoteAddress });
    void session.done().then(() => {
      this.sessions.delete(session);
      this.log.write("info", "connection closed", { connection: connectionId });
    });
  }
}
