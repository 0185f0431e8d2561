import { ErrorCode, parseClientMessage, type RuntimeMessage } from "@runtimeuse/protocol";
import type { RawData, WebSocket } from "ws";
// Straight from the modules, not the artifacts barrel: the barrel loads the ignore rules (and `ignore`) eagerly.
import { ArtifactManager } from "../artifacts/manager.js";
import type { ArtifactSettings } from "../artifacts/options.js";
import type { ConversationSettings } from "../conversations/settings.js";
import { ConversationStore } from "../conversations/store.js";
import { type LogSink, redactingSink, silentSink } from "../logger.js";
import { type AgentHandlerLike, toAgentHandler } from "../types.js";
import { type AbortReason, type SessionEffect, SessionEngine } from "./engine.js";
import { RequestAbort, type RequestSettings, runRequest } from "./request.js";

export interface WebSocketSessionOptions {
  handler: AgentHandlerLike;
  /** Interval between heartbeats while a request is in flight. Default 15 s. */
  heartbeatIntervalMs?: number;
  /** How long a request waits for the previous request's runner to wind down. Default 5 s. */
  windDownTimeoutMs?: number;
  /** Above this many buffered outgoing bytes, producers (command output, handlers) wait. Default 1 MiB. */
  sendHighWaterMark?: number;
  /**
   * Hard cap on buffered outgoing bytes: a peer that stops reading while more
   * is queued than this is dropped (treated as a disconnect). Default 16 MiB.
   */
  maxBufferedBytes?: number;
  /** Cap on the `stdout` kept per command for `command_execution_result_message`. Default 1 MiB. */
  maxCapturedStdout?: number;
  /** Between SIGTERM and SIGKILL when a command's process group is killed. Default 2 s. */
  killGraceMs?: number;
  /** Variable names never passed to commands. */
  hiddenEnv?: readonly string[];
  logSink?: LogSink;
  /** Shown in this connection's log lines. */
  connectionId?: string;
  /** Settle window, upload timeout, retries... of this connection's artifacts (see ArtifactManagerOptions). */
  artifacts?: ArtifactSettings;
  /**
   * Where and how requests that name a `conversation_id` keep it (PROTOCOL.md
   * "Conversations"). A `RuntimeUseServer` also deletes expired ones when it starts listening.
   */
  conversations?: ConversationSettings;
}

export const DEFAULTS = {
  heartbeatIntervalMs: 15_000,
  windDownTimeoutMs: 5_000,
  sendHighWaterMark: 1024 * 1024,
  maxBufferedBytes: 16 * 1024 * 1024,
  maxCapturedStdout: 1024 * 1024,
  killGraceMs: 2_000,
} as const;

/** The part of a `ws` WebSocket's underlying TCP socket used to batch writes. */
interface Corkable {
  cork(): void;
  uncork(): void;
}

/** The TCP socket under a `ws` WebSocket (`ws` keeps it in `_socket`), if it is there and corkable. */
function transportOf(socket: WebSocket): Corkable | undefined {
  const raw = (socket as unknown as { _socket?: Partial<Corkable> | null })._socket;
  return typeof raw?.cork === "function" && typeof raw.uncork === "function" ? (raw as Corkable) : undefined;
}

/** Above this many bytes gathered in one tick, they are written without waiting for the tick to end. */
const GATHER_LIMIT_BYTES = 64 * 1024;

/** Messages after which nothing more is expected soon: gathered frames leave at once. */
const ENDS_A_BURST = new Set<string>([
  "result_message",
  "error_message",
  "command_execution_result_message",
  "end_session_confirm_message",
]);

interface Runner {
  abort: RequestAbort;
  done: Promise<void>;
}

/**
 * Serves one client connection: validates frames at the edge, feeds the
 * engine, and carries out its effects (sockets, timers, runners). Usable on
 * its own by people who run their own `ws` server.
 */
export class WebSocketSession {
  private readonly engine = new SessionEngine();
  private readonly runners = new Map<number, Runner>();
  private readonly log: LogSink;
  private readonly settings: RequestSettings;
  private readonly options: WebSocketSessionOptions;
  private heartbeatTimer: NodeJS.Timeout | undefined;
  private windDownTimer: NodeJS.Timeout | undefined;
  private readonly closed: Promise<void>;
  private markClosed!: () => void;
  /** Producers waiting for the socket to drain; released on close too, so none waits forever. */
  private readonly drainWaiters = new Set<() => void>();
  /** Frames of the current tick being gathered into one write (see `gather`). */
  private gathering: { transport: Corkable; bytes: number } | undefined;
  /** Watches, offers and uploads this connection's artifacts; offers go straight to the socket, outside any request. */
  private readonly artifacts: ArtifactManager;
  private conversationStore: ConversationStore | undefined;

  constructor(
    private readonly socket: WebSocket,
    options: WebSocketSessionOptions,
  ) {
    this.options = options;
    this.log = redactingSink(options.logSink ?? silentSink, () => this.engine.secrets);
    this.settings = {
      handler: toAgentHandler(options.handler),
      hiddenEnv: options.hiddenEnv ?? [],
      maxCapturedStdout: options.maxCapturedStdout ?? DEFAULTS.maxCapturedStdout,
      killGraceMs: options.killGraceMs ?? DEFAULTS.killGraceMs,
      conversations: () => {
        this.conversationStore ??= new ConversationStore(options.conversations);
        return this.conversationStore;
      },
    };
    this.artifacts = new ArtifactManager({
      ...options.artifacts,
      offer: (offer) => void this.send({ message_type: "artifact_upload_request_message", ...offer }),
      log: options.logSink ?? silentSink,
      secrets: () => this.engine.secrets,
    });
    this.closed = new Promise((resolve) => {
      this.markClosed = resolve;
    });
    socket.on("message", (data, isBinary) => this.guard(() => this.onFrame(data, isBinary)));
    socket.on("close", () => this.guard(() => this.onClose()));
    socket.on("error", (error: Error & { code?: string }) =>
      this.log.write("warn", socketErrorMessage(error.code), {
        connection: options.connectionId,
        code: error.code,
        error: error.message,
      }),
    );
    if (socket.readyState !== socket.OPEN) this.guard(() => this.onClose());
  }

  /** Resolves once the connection is closed and every runner has returned. */
  async done(): Promise<void> {
    await this.closed;
    await Promise.all([...this.runners.values()].map((runner) => runner.done));
  }

  get requestInFlight(): boolean {
    return this.engine.activeRequestId !== undefined;
  }

  /** Ends the connection for a runtime shutdown: the request in flight gets its terminal first. */
  async shutdown(): Promise<void> {
    this.apply(this.engine.shutdown());
    await this.artifacts.close({ abandonUploads: true });
    await this.done();
  }

  /** Errors from our own code must end this session only, never the process. */
  private guard(fn: () => void): void {
    try {
      fn();
    } catch (error) {
      this.log.write("error", "session failed; closing the connection", {
        connection: this.options.connectionId,
        error: error instanceof Error ? (error.stack ?? error.message) : String(error),
      });
      this.socket.terminate();
    }
  }

  private onFrame(data: RawData, isBinary: boolean): void {
    if (isBinary) {
      this.apply(
        this.engine.receive({
          ok: false,
          error: { code: ErrorCode.BinaryFrame, message: "binary frames are not accepted; send JSON as a text frame" },
        }),
      );
      return;
    }
    const text = Array.isArray(data) ? Buffer.concat(data).toString("utf8") : data.toString("utf8");
    this.apply(this.engine.receive(parseClientMessage(text)));
  }

  private onClose(): void {
    this.apply(this.engine.transportClosed());
    this.stopHeartbeat();
    if (this.windDownTimer) clearTimeout(this.windDownTimer);
    for (const release of [...this.drainWaiters]) release();
    void this.artifacts.close();
    this.markClosed();
  }

  private apply(effects: SessionEffect[]): void {
    for (const effect of effects) this.perform(effect);
  }

  private perform(effect: SessionEffect): void {
    switch (effect.type) {
      case "send":
        this.send(effect.message);
        return;
      case "start":
        this.start(effect.requestId, effect.request);
        return;
      case "abort":
        this.abortRunner(effect.requestId, effect.reason);
        return;
      case "wait_for_wind_down":
        this.windDownTimer = setTimeout(
          () => this.guard(() => this.apply(this.engine.windDownExpired())),
          this.options.windDownTimeoutMs ?? DEFAULTS.windDownTimeoutMs,
        );
        return;
      case "artifact_response":
        this.artifacts.handleUploadResponse(effect.message);
        return;
      case "finalize":
        void this.artifacts
          .finish()
          .catch((error: unknown) => {
            this.log.write("error", "artifacts could not be finished", { error: String(error) });
            return undefined;
          })
          .then((manifest) => this.guard(() => this.apply(this.engine.confirmEnd(manifest))));
        return;
      case "close":
        this.stopHeartbeat();
        if (this.socket.readyState === this.socket.OPEN) this.socket.close(effect.code, effect.reason);
        return;
      case "request_ended":
        if (this.log.enabled?.("info") === false) return;
        this.log.write("info", "request end", {
          connection: this.options.connectionId,
          request: effect.requestId,
          kind: effect.request.message_type === "invocation_message" ? "invocation" : "commands",
          source_id: effect.request.source_id,
          outcome: effect.outcome,
          duration_ms: Math.round(effect.durationMs),
        });
        return;
    }
  }

  /** Sends one frame; the promise resolves once the socket's buffer is below the high-water mark. */
  private send(message: RuntimeMessage): Promise<void> {
    if (this.socket.readyState !== this.socket.OPEN) return Promise.resolve();
    const cap = this.options.maxBufferedBytes ?? DEFAULTS.maxBufferedBytes;
    if (this.socket.bufferedAmount >= cap) {
      // Producers that ignore backpressure must not grow memory without bound.
      this.log.write("warn", "peer is not reading; dropping the connection", {
        connection: this.options.connectionId,
        buffered_bytes: this.socket.bufferedAmount,
        limit: cap,
      });
      this.socket.terminate();
      return Promise.resolve();
    }
    const text = JSON.stringify(message);
    this.gather(text.length);
    const highWater = this.options.sendHighWaterMark ?? DEFAULTS.sendHighWaterMark;
    if (this.socket.bufferedAmount + text.length <= highWater) {
      this.socket.send(text);
      if (this.gathering && (this.gathering.bytes >= GATHER_LIMIT_BYTES || ENDS_A_BURST.has(message.message_type))) {
        this.flushGathered();
      }
      return Promise.resolve();
    }
    const waiting = new Promise<void>((resolve) => {
      const release = () => {
        this.drainWaiters.delete(release);
        resolve();
      };
      this.drainWaiters.add(release);
      this.socket.send(text, release);
    });
    // The producer now waits for the socket: let the bytes go at once.
    this.flushGathered();
    return waiting;
  }

  /**
   * Frames sent in one tick (an assistant message and the result right after
   * it, a burst of streamed messages) leave in one write instead of one each:
   * fewer syscalls, and the client wakes once. The socket is uncorked on
   * `process.nextTick` (as Node's http does for headers and body), right after
   * a terminal (the client is waiting for it; the runtime's own bookkeeping
   * after it need not delay it), or as soon as `GATHER_LIMIT_BYTES` are
   * gathered, so a frame never waits past the end of the current tick and a
   * long burst still streams. Frame order and backpressure are unchanged:
   * corked bytes count in `bufferedAmount`.
   */
  private gather(bytes: number): void {
    if (this.gathering === undefined) {
      const transport = transportOf(this.socket);
      if (transport === undefined) return;
      transport.cork();
      const gathering = { transport, bytes: 0 };
      this.gathering = gathering;
      process.nextTick(() => {
        if (this.gathering === gathering) this.flushGathered();
      });
    }
    this.gathering.bytes += bytes;
  }

  private flushGathered(): void {
    const gathering = this.gathering;
    this.gathering = undefined;
    gathering?.transport.uncork();
  }

  private start(requestId: number, request: Parameters<typeof runRequest>[0]): void {
    if (this.windDownTimer) clearTimeout(this.windDownTimer);
    if (this.log.enabled?.("info") !== false) {
      this.log.write("info", "request start", {
        connection: this.options.connectionId,
        request: requestId,
        kind: request.message_type === "invocation_message" ? "invocation" : "commands",
        source_id: request.source_id,
        conversation: request.message_type === "invocation_message" ? request.conversation_id : undefined,
      });
    }
    const abort = new RequestAbort();
    const host = {
      emit: (message: RuntimeMessage) => {
        let pending: Promise<void> = Promise.resolve();
        this.guard(() => {
          for (const effect of this.engine.emit(requestId, message)) {
            if (effect.type === "send") pending = this.send(effect.message);
            else this.perform(effect);
          }
        });
        return pending;
      },
      terminate: (terminal: Parameters<SessionEngine["terminate"]>[1]) =>
        this.guard(() => this.apply(this.engine.terminate(requestId, terminal))),
      setPhase: (phase: string) => this.engine.setPhase(requestId, phase),
      log: this.log,
      watchArtifacts: (dirs: string[], ignoreContent: string | undefined) => this.artifacts.watch(dirs, ignoreContent),
      offerArtifacts: () => this.artifacts.offerPending(),
    };
    const done = runRequest(request, abort, host, this.settings)
      .catch((error) => this.log.write("error", "request runner failed", { error: String(error) }))
      .finally(() => {
        this.runners.delete(requestId);
        this.guard(() => this.apply(this.engine.settled(requestId)));
      });
    this.runners.set(requestId, { abort, done });
    this.startHeartbeat();
  }

  private abortRunner(requestId: number, reason: AbortReason): void {
    const runner = this.runners.get(requestId);
    if (runner && !runner.abort.aborted) runner.abort.abort(new Error(`request ${reason}`));
  }

  private startHeartbeat(): void {
    if (this.heartbeatTimer) {
      // Back-to-back requests: restart the running interval's countdown rather than allocate a new timer.
      this.heartbeatTimer.refresh();
      return;
    }
    const interval = this.options.heartbeatIntervalMs ?? DEFAULTS.heartbeatIntervalMs;
    this.heartbeatTimer = setInterval(() => {
      this.guard(() => {
        if (this.engine.activeRequestId === undefined) this.stopHeartbeat();
        else this.apply(this.engine.heartbeat());
      });
    }, interval);
    this.heartbeatTimer.unref();
  }

  private stopHeartbeat(): void {
    if (this.heartbeatTimer) clearInterval(this.heartbeatTimer);
    this.heartbeatTimer = undefined;
  }
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
