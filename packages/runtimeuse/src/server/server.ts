import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { Duplex } from "node:stream";
import { type WebSocket, WebSocketServer } from "ws";
import { validateArtifactSettings } from "../artifacts/index.js";
import { DEFAULT_KILL_GRACE_MS, killDetachedProcessGroups } from "../commands/index.js";
import { ConversationStore } from "../conversations/index.js";
import { checkDownloadLimits } from "../downloads/index.js";
import { budgetedSink } from "../log-budget.js";
import { type LogSink, redactingSink, silentSink } from "../logger.js";
import type { WebSocketSession, WebSocketSessionOptions } from "../session/index.js";
import { DEFAULT_RESUME_GRACE_MS, DEFAULT_WIND_DOWN_TIMEOUT_MS } from "../session-defaults.js";
import { Admission, DEFAULT_MAX_CONNECTIONS, type Refusal, refusal, refuseUpgrade } from "./admission.js";
import { isLoopbackHost, redactUrlToken, TOKEN_ENV } from "./auth.js";
import { answerClientError } from "./client-error.js";
import { closeCodeMeaning, closedBy } from "./close-codes.js";
import { answerPlainRequest, type HealthReport, healthReport } from "./health.js";
import { DEFAULT_PING_INTERVAL_MS, Liveness } from "./liveness.js";
import { warnOnFewOpenFiles } from "./open-files.js";
import { checkServerOptions } from "./options-check.js";
import { type ResumeAsk, resumeAskOf } from "./resume-upgrade.js";
import type { AuthThrottleOptions } from "./throttle.js";

export interface RuntimeUseServerOptions extends Omit<WebSocketSessionOptions, "connectionId" | "upgradeRequest"> {
  /** Default 8080; 0 picks a free port. */
  port?: number;
  /** Default 0.0.0.0. */
  host?: string;
  /** Largest accepted incoming frame in bytes; larger ones close the connection with 1009. Default 16 MiB. */
  maxFrameBytes?: number;
  /**
   * When set, every WebSocket upgrade must carry it as `Authorization: Bearer
   * <token>` or `?token=<token>`; others get HTTP 401. It is redacted from logs
   * and `RUNTIMEUSE_TOKEN` is never passed to commands.
   */
  token?: string;
  /**
   * Open connections at most; past it upgrades get HTTP 503. Default 1024. A
   * connection whose request's handler goes on running past the kill grace
   * and the wind-down after the connection ended stops counting (see
   * `stuckRequests`).
   */
  maxConnections?: number;
  /** Ping interval; a peer that misses a pong for a whole interval is dropped. Default 30 s. */
  pingIntervalMs?: number;
  /** How repeated token failures from one address are slowed down. */
  authThrottle?: AuthThrottleOptions;
  /** How long `stop()` waits for requests to end and connections to close before dropping them. Default 10 s. */
  shutdownTimeoutMs?: number;
  /**
   * How long the session of a client that asked for a resumable connection
   * (`?resumable=1`) outlives a dropped connection. 0 turns resume off.
   * Default `DEFAULT_RESUME_GRACE_MS`.
   */
  resumeGraceMs?: number;
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
export const DEFAULT_SHUTDOWN_TIMEOUT_MS = 10_000;

/**
 * The runtime's WebSocket server: one `WebSocketSession` per connection, each
 * with its own request. Upgrades pass `Admission` (token, throttle, cap)
 * before any WebSocket exists; plain HTTP gets `/health` or a 4xx. `stop()`
 * gives every in-flight request its terminal before the connections close.
 */
export class RuntimeUseServer {
  private readonly options: RuntimeUseServerOptions;
  /** What every connection's session gets, built once: only the connection's own fields are added per connection. */
  private readonly sessionOptions: WebSocketSessionOptions;
  private readonly log: LogSink;
  /** Refused upgrades and frames, which peers cause at will: rate-limited across every connection. */
  private readonly refusalLog: LogSink;
  /** Sockets the server dropped itself (dead peers, shutdown timeout), for the close line. */
  private readonly droppedHere = new WeakSet<WebSocket>();
  private readonly admission: Admission;
  /** Every session not over yet, with its current socket (resumable ones may be detached). */
  private readonly sessions = new Map<WebSocketSession, WebSocket>();
  /**
   * Sessions whose connection ended but whose request's handler has not
   * returned within the kill grace and the wind-down (it ignores its abort
   * signal): still in `sessions`, no longer counted as connections.
   */
  private readonly stuck = new Set<WebSocketSession>();
  /** Resumable sessions by session id. */
  private readonly resumable = new Map<string, WebSocketSession>();
  private readonly connectionIds = new WeakMap<WebSocket, string>();
  private readonly liveness: Liveness;
  private readonly conversations: ConversationStore;
  private readonly startedAt = performance.now();
  private http: Server | undefined;
  private wss: WebSocketServer | undefined;
  /**
   * The session code, once loaded (see `startListening`); until then, upgrades
   * wait for `sessionCodeLoaded`. Undefined after a failed load, which sets
   * `sessionCodeFailed` (the log says why).
   */
  private sessionCode: typeof import("../session/index.js") | undefined;
  private sessionCodeLoaded: Promise<void> | undefined;
  private sessionCodeFailed = false;
  private nextConnection = 1;
  private address: ListeningAddress | undefined;
  private stopping = false;

  constructor(options: RuntimeUseServerOptions) {
    checkServerOptions(options as unknown as Record<string, unknown>);
    validateArtifactSettings(options.artifacts);
    checkDownloadLimits(options.downloads, "RuntimeUseServer: options.downloads");
    this.conversations = new ConversationStore(options.conversations);
    this.options = options;
    const token = options.token;
    // Belt and braces: whatever a handler logs, the token never reaches the log.
    this.log = token ? redactingSink(options.logSink ?? silentSink, () => [token]) : (options.logSink ?? silentSink);
    this.refusalLog = budgetedSink(this.log);
    this.sessionOptions = {
      ...options,
      hiddenEnv: [...(options.hiddenEnv ?? []), TOKEN_ENV],
      logSink: this.log,
      refusalLogSink: this.refusalLog,
    };
    this.admission = new Admission({
      ...(token === undefined ? {} : { token }),
      maxConnections: options.maxConnections ?? DEFAULT_MAX_CONNECTIONS,
      ...(options.authThrottle ? { authThrottle: options.authThrottle } : {}),
    });
    this.liveness = new Liveness(options.pingIntervalMs ?? DEFAULT_PING_INTERVAL_MS, (socket) => {
      this.droppedHere.add(socket);
      this.log.write("warn", "peer stopped answering pings; dropping the connection", {
        connection: this.connectionIdOf(socket),
      });
    });
  }

  /**
   * Number of sessions not over yet: open connections, and resumable sessions
   * waiting for a resume. Sessions whose handler outlived its connection are
   * counted by `stuckRequests` instead.
   */
  get connectionCount(): number {
    return this.sessions.size - this.stuck.size;
  }

  /** Number of requests in flight across all connections. */
  get requestsInFlight(): number {
    let count = 0;
    for (const session of this.sessions.keys()) if (session.requestInFlight && !this.stuck.has(session)) count++;
    return count;
  }

  /**
   * Requests whose handler has not returned although their connection ended
   * longer ago than the kill grace and the wind-down: a handler that ignores
   * its abort signal. They no longer count against `maxConnections`.
   */
  get stuckRequests(): number {
    return this.stuck.size;
  }

  /** What `GET /health` answers. */
  health(): HealthReport {
    return healthReport(this.healthSource());
  }

  /** Starts listening; resolves with the bound address (port 0 resolves to the real port). */
  async startListening(): Promise<ListeningAddress> {
    if (this.address) return this.address;
    await this.prepareConversations();
    const http = createServer((request, response) => answerPlainRequest(request, response, this.healthSource()));
    const wss = new WebSocketServer({
      noServer: true,
      maxPayload: this.options.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES,
    });
    http.on("upgrade", (request: IncomingMessage, socket: Duplex, head: Buffer) => {
      socket.on("error", () => socket.destroy());
      // One that comes before the session code has loaded waits for it (see `startListening`).
      const loading = this.sessionCode === undefined ? this.sessionCodeLoaded : undefined;
      if (loading === undefined) this.upgrade(wss, request, socket, head);
      else void loading.then(() => this.upgrade(wss, request, socket, head));
    });
    http.on("clientError", answerClientError);
    const host = this.options.host ?? DEFAULT_HOST;
    await new Promise<void>((resolve, reject) => {
      const onError = (error: NodeJS.ErrnoException) => {
        http.off("listening", onListening);
        reject(listenError(error, host, this.options.port ?? DEFAULT_PORT));
      };
      const onListening = () => {
        http.off("error", onError);
        resolve();
      };
      http.once("error", onError);
      http.once("listening", onListening);
      // A burst of connects must not overflow the accept queue (Node's default is 511): size
      // it to the connection cap; the kernel still bounds it by net.core.somaxconn.
      http.listen({
        port: this.options.port ?? DEFAULT_PORT,
        host,
        backlog: Math.max(511, this.admission.maxConnections),
      });
    });
    this.http = http;
    this.wss = wss;
    this.stopping = false;
    const bound = http.address() as AddressInfo;
    const reachable = host === "0.0.0.0" || host === "::" ? "127.0.0.1" : host;
    this.address = { host, port: bound.port, url: wsUrl(reachable, bound.port) };
    this.log.write("info", "listening", {
      url: wsUrl(host, bound.port),
      auth: this.admission.requiresToken ? "token" : "none",
      max_connections: this.admission.maxConnections,
    });
    if (!this.admission.requiresToken && !isLoopbackHost(host)) {
      this.log.write(
        "warn",
        `listening on ${host} without a token: anyone who can reach this port can run commands here; set --token or ${TOKEN_ENV}`,
      );
    }
    // The session code (the protocol's schemas and zod with it) loads while the caller announces
    // the address; an upgrade that comes first waits for it. Then the modules a request may need.
    this.sessionCodeLoaded ??= this.loadSessionCode();
    void this.sessionCodeLoaded.then(() => {
      if (this.sessionCode !== undefined) void this.sessionCode.preloadRequestModules(this.log);
      void warnOnFewOpenFiles(this.log, this.admission.maxConnections);
    });
    return this.address;
  }

  /**
   * Stops accepting, gives each in-flight request its terminal, closes every
   * connection (1001) and waits for their runners to return, up to
   * `shutdownTimeoutMs`; connections still open then are dropped (and logged).
   * Process groups of cancelled commands and background jobs get SIGTERM, then
   * SIGKILL after `killGraceMs` (process-wide: the job registry is shared).
   */
  async stop(): Promise<void> {
    const http = this.http;
    if (!http) return;
    this.http = undefined;
    this.address = undefined;
    this.stopping = true;
    const closing = new Promise<void>((resolve) => http.close(() => resolve()));
    http.closeIdleConnections();
    this.liveness.stop();
    const timeoutMs = this.options.shutdownTimeoutMs ?? DEFAULT_SHUTDOWN_TIMEOUT_MS;
    const ended = Promise.all([...this.sessions.keys()].map((session) => session.shutdown()));
    const clean = await withTimeout(ended, timeoutMs);
    if (!clean) {
      this.log.write("warn", "shutdown timed out; dropping the connections still open", {
        connections: this.connectionCount,
        timeout_ms: timeoutMs,
      });
      for (const socket of this.sessions.values()) {
        this.droppedHere.add(socket);
        socket.terminate();
      }
    }
    // Background jobs that finished commands left running end with the runtime. Like the
    // groups of cancelled commands, they get SIGKILL after the grace; those timers keep
    // the process alive until then.
    const groups = killDetachedProcessGroups(this.options.killGraceMs ?? DEFAULT_KILL_GRACE_MS);
    if (groups > 0) this.log.write("info", "terminating background jobs left by commands", { groups });
    this.wss?.close();
    http.closeAllConnections();
    await closing;
  }

  /**
   * Expired conversations (`conversations.ttlMs`) go before any request can name one, and a
   * state directory that cannot be written is reported. Failures are logged, never fatal.
   */
  private async prepareConversations(): Promise<void> {
    const { removed, failed } = await this.conversations.prune();
    if (removed > 0 || failed > 0) {
      this.log.write(failed > 0 ? "warn" : "info", "pruned expired conversations", {
        directory: this.conversations.directory,
        removed,
        failed,
      });
    }
    // Said once at start, where the operator looks, rather than only to the first client that names a conversation.
    const unwritable = await this.conversations.unwritable();
    if (unwritable !== undefined) {
      this.log.write(
        "warn",
        "conversations cannot be saved: a request naming a conversation_id will fail; give a writable --state-dir (conversations.stateDir when embedded)",
        { directory: this.conversations.directory, reason: unwritable },
      );
    }
  }

  /** Loads the session code; never rejects (a failure is logged, and every upgrade is refused). */
  private async loadSessionCode(): Promise<void> {
    try {
      this.sessionCode = await import("../session/index.js");
    } catch (error) {
      this.sessionCodeFailed = true;
      this.log.write("error", "the session code could not be loaded: every connection is refused", {
        error: error instanceof Error ? error.message : String(error),
      });
    }
  }

  private upgrade(wss: WebSocketServer, request: IncomingMessage, socket: Duplex, head: Buffer): void {
    // The client may have gone while the session code loaded.
    if (socket.destroyed) return;
    const ask = resumeAskOf(request);
    const refused =
      this.admission.decide(
        request,
        this.connectionCount,
        this.stopping || this.http === undefined,
        ask.kind === "resume",
      ) ??
      this.unavailable() ??
      this.resumeRefusal(ask);
    if (refused) {
      this.refusalLog.write(refused.reason === "stopping" ? "info" : "warn", "upgrade refused", {
        status: refused.status,
        reason: refused.reason,
        remote: request.socket.remoteAddress,
        path: redactUrlToken(request.url),
      });
      refuseUpgrade(socket, refused);
      return;
    }
    wss.handleUpgrade(request, socket, head, (ws) => {
      if (ask.kind === "resume") this.acceptResume(ws, request, ask.sessionId, ask.lastSeq);
      else this.accept(ws, request, ask.kind === "resumable");
    });
  }

  /** The refusal of every upgrade while there is no session code (its load failed). */
  private unavailable(): Refusal | undefined {
    if (this.sessionCode !== undefined) return undefined;
    return refusal(503, "unavailable", "the runtime could not load its session code; its log says why", {});
  }

  /** Why a resume cannot be admitted, if it cannot; never disturbs the session it names. */
  private resumeRefusal(ask: ResumeAsk): Refusal | undefined {
    if (ask.kind === "invalid") return refusal(400, "invalid_resume", ask.message, {});
    if (ask.kind !== "resume") return undefined;
    const target = this.resumable.get(ask.sessionId);
    if (target === undefined || target.ended) {
      return refusal(404, "unknown_session", "no resumable session with this id: it ended, or never existed", {});
    }
    if (!target.verifyResume(ask.secret)) {
      return refusal(401, "wrong_resume_secret", "the resume secret is missing or not valid for this session", {});
    }
    return undefined;
  }

  private accept(ws: WebSocket, request: IncomingMessage, resumable: boolean): void {
    const connectionId = String(this.nextConnection++);
    // Wall-clock milliseconds are all a log line's duration needs (performance.now costs more per call).
    const opened = Date.now();
    let closeCode: number | undefined;
    ws.once("close", (code) => {
      closeCode = code;
    });
    const graceMs = this.options.resumeGraceMs ?? DEFAULT_RESUME_GRACE_MS;
    // The server's options with this connection's own on top: inherited rather than
    // spread (a copy of some twenty options per connection costs microseconds).
    const options: WebSocketSessionOptions = Object.create(this.sessionOptions);
    options.resumeGraceMs = resumable ? graceMs : 0;
    options.connectionId = connectionId;
    options.upgradeRequest = request;
    const session = new (this.sessionCode as typeof import("../session/index.js")).WebSocketSession(ws, options);
    this.sessions.set(session, ws);
    const resumeId = session.resumeId;
    if (resumeId !== undefined) this.resumable.set(resumeId, session);
    this.track(ws, connectionId, session, resumeId !== undefined);
    if (this.log.enabled?.("info") !== false) {
      this.log.write("info", "connection open", {
        connection: connectionId,
        remote: request.socket.remoteAddress,
        path: redactUrlToken(request.url),
        ...(resumeId === undefined ? {} : { resumable: true }),
      });
    }
    void session.transportEnded().then(() => this.watchRunners(session, connectionId));
    void session.done().then(() => {
      this.sessions.delete(session);
      if (this.stuck.delete(session)) {
        this.log.write("info", "a stuck request's handler returned", { connection: connectionId });
      }
      if (resumeId !== undefined) {
        this.resumable.delete(resumeId);
        this.log.write("info", "session ended", {
          connection: connectionId,
          duration_ms: Date.now() - opened,
        });
        return;
      }
      this.log.write("info", "connection closed", {
        connection: connectionId,
        by: closedBy(closeCode, session.closedByRuntime || this.droppedHere.has(ws)),
        code: closeCode,
        meaning: closeCodeMeaning(closeCode),
        duration_ms: Date.now() - opened,
      });
    });
  }

  /** A resume was admitted: the session gets the new socket (or refuses it with `replay_gap`). */
  private acceptResume(ws: WebSocket, request: IncomingMessage, sessionId: string, lastSeq: number): void {
    const session = this.resumable.get(sessionId);
    const connectionId =
      session === undefined ? undefined : this.connectionIds.get(this.sessions.get(session) as WebSocket);
    if (session === undefined || !session.resume(ws, lastSeq, request)) {
      if (session === undefined) ws.close(1011, "session ended");
      return;
    }
    this.sessions.set(session, ws);
    this.track(ws, connectionId ?? String(this.nextConnection++), session, true);
    this.log.write("info", "connection resumed", {
      connection: connectionId,
      remote: request.socket.remoteAddress,
      path: redactUrlToken(request.url),
      last_seq: lastSeq,
    });
  }

  /** Pings `ws`; a resumable session's sockets each get a close line of their own. */
  private track(ws: WebSocket, connectionId: string, session: WebSocketSession, resumable: boolean): void {
    this.connectionIds.set(ws, connectionId);
    this.liveness.track(ws);
    if (!resumable) return;
    const opened = performance.now();
    ws.once("close", (code) => {
      this.log.write("info", "connection closed", {
        connection: connectionId,
        by: closedBy(code, code === 4001 || code === 4002 || session.closedByRuntime || this.droppedHere.has(ws)),
        code,
        meaning: closeCodeMeaning(code),
        session: session.ended ? "ended" : "waiting for a resume",
        duration_ms: Math.round(performance.now() - opened),
      });
    });
  }

  /**
   * A session whose connection ended is over once its request's runner
   * returns: at most the kill grace (its commands are killed) and the
   * wind-down after, for a handler that honours its abort signal. One that
   * has not returned by then stops counting as a connection, so that handlers
   * stuck on something that ignores the signal cannot fill the runtime; it
   * stays known (`stuckRequests`, `/health`, `stop()` waits for it) until it returns.
   */
  private watchRunners(session: WebSocketSession, connectionId: string): void {
    if (!this.sessions.has(session)) return;
    const boundMs =
      (this.options.killGraceMs ?? DEFAULT_KILL_GRACE_MS) +
      (this.options.windDownTimeoutMs ?? DEFAULT_WIND_DOWN_TIMEOUT_MS);
    const timer = setTimeout(() => {
      if (!this.sessions.has(session)) return;
      this.stuck.add(session);
      this.log.write(
        "warn",
        "a request's handler has not returned since its connection ended (it ignores its abort signal); the connection no longer counts against the connection limit",
        { connection: connectionId, waited_ms: boundMs },
      );
    }, boundMs);
    timer.unref();
    void session.done().then(() => clearTimeout(timer));
  }

  private connectionIdOf(socket: WebSocket): string | undefined {
    return this.connectionIds.get(socket);
  }

  private healthSource() {
    return {
      stopping: this.stopping,
      unavailable: this.sessionCodeFailed,
      startedAt: this.startedAt,
      connectionCount: this.connectionCount,
      requestsInFlight: this.requestsInFlight,
      stuckRequests: this.stuckRequests,
      logLinesDropped: this.log.dropped?.() ?? 0,
    };
  }
}

/** True when `promise` settles within `ms`. */
async function withTimeout(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  try {
    return await Promise.race([promise.then(() => true as const), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** `ws://host:port`, an IPv6 address in brackets (`ws://[::1]:8080`). */
export function wsUrl(host: string, port: number): string {
  return `ws://${host.includes(":") ? `[${host}]` : host}:${port}`;
}

/**
 * Why listening failed, naming the host and port (the system's message names
 * neither for a host that does not resolve); the error's `code` is kept.
 */
function listenError(error: NodeJS.ErrnoException, host: string, port: number): Error {
  const reason =
    error.code === "EADDRINUSE"
      ? `port ${port} is already in use on ${host}`
      : error.code === "ENOTFOUND" || error.code === "EAI_AGAIN"
        ? `cannot listen on ${host}: the host name does not resolve (${error.code})`
        : error.code === "EADDRNOTAVAIL"
          ? `cannot listen on ${host}:${port}: no network interface here has that address (EADDRNOTAVAIL)`
          : error.code === "EACCES"
            ? `cannot listen on ${host}:${port}: permission denied (EACCES; ports below 1024 need root or CAP_NET_BIND_SERVICE)`
            : `cannot listen on ${host}:${port}: ${error.message}`;
  return Object.assign(new Error(reason), { code: error.code });
}
