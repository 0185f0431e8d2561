import type {
  ClientFrame,
  ClientMessage,
  ParseResult,
  RequestMessage,
  ResumedMessage,
  RuntimeMessage,
  SessionMessage,
  TerminalMessage,
} from "@runtimeuse/protocol";
import { ArtifactManager, type ArtifactSettings } from "../artifacts/index.js";
import { DEFAULT_KILL_GRACE_MS, DEFAULT_MAX_CAPTURED_BYTES } from "../commands/index.js";
import { type ConversationSettings, ConversationStore } from "../conversations/index.js";
import type { DownloadLimits } from "../downloads/index.js";
import { type AgentHandlerLike, toAgentHandler } from "../handler.js";
import { budgetedSink } from "../log-budget.js";
import { type LogFields, type LogSink, redactingSink, silentSink } from "../logger.js";
import { DEFAULT_REPLAY_BUFFER_BYTES } from "../session-defaults.js";
import { type SessionEffect, SessionEngine } from "./engine.js";
import { Outbox } from "./outbox.js";
import { type Replay, ReplayBuffer } from "./replay-buffer.js";
import type { RequestHost } from "./request-run.js";
import { ResumeState } from "./resume-state.js";
import { Runners } from "./runners.js";
import { SessionTimers } from "./timers.js";

/**
 * What `emit` returns for a message the engine dropped (its request is over):
 * nothing to wait for, but resolved on the next turn of the event loop, so
 * that a handler which keeps sending after its end in an awaited loop does
 * not starve the runtime of I/O.
 */
function dropped(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

export interface SessionOptions {
  handler: AgentHandlerLike;
  /** Interval between heartbeats while a request is in flight. Default `DEFAULT_HEARTBEAT_INTERVAL_MS`. */
  heartbeatIntervalMs?: number;
  /** How long a request waits for the previous request's runner to wind down. Default `DEFAULT_WIND_DOWN_TIMEOUT_MS`. */
  windDownTimeoutMs?: number;
  /**
   * Above this many buffered outgoing bytes, producers (command output,
   * handlers) wait. Default `DEFAULT_SEND_HIGH_WATER_MARK`.
   */
  sendHighWaterMark?: number;
  /**
   * Hard cap on buffered outgoing bytes: a peer that stops reading while more
   * is queued than this is dropped (treated as a disconnect). Default
   * `DEFAULT_MAX_BUFFERED_BYTES`.
   */
  maxBufferedBytes?: number;
  /**
   * Cap on the `stdout` kept per command for `command_execution_result_message`.
   * Default `DEFAULT_MAX_CAPTURED_BYTES`.
   */
  maxCapturedStdout?: number;
  /** Between SIGTERM and SIGKILL when a command's process group is killed. Default `DEFAULT_KILL_GRACE_MS`. */
  killGraceMs?: number;
  /** Variable names never passed to commands. */
  hiddenEnv?: readonly string[];
  logSink?: LogSink;
  /**
   * Where refused frames are logged. A peer can send garbage at will, so this
   * should be rate-limited; the server shares one across its connections.
   * Default: `logSink` behind a budget of its own (see `budgetedSink`).
   */
  refusalLogSink?: LogSink;
  /** Shown in this connection's log lines. */
  connectionId?: string;
  /** Settle window, upload timeout, retries... of this connection's artifacts (see ArtifactManagerOptions). */
  artifacts?: ArtifactSettings;
  /** Limits of the `pre_*_downloadables` (sizes, entries, idle time); unset ones keep `DEFAULT_DOWNLOAD_LIMITS`. */
  downloads?: Partial<DownloadLimits>;
  /**
   * Where and how requests that name a `conversation_id` keep it (PROTOCOL.md
   * "Conversations"). A `RuntimeUseServer` also deletes expired ones when it starts listening.
   */
  conversations?: ConversationSettings;
  /**
   * Above 0 the session is resumable (docs/PROTOCOL.md, "Resumable
   * connections"): a dropped connection detaches it for this long instead of
   * ending it. Default 0 for a session; the server passes its
   * `--resume-grace` (`DEFAULT_RESUME_GRACE_MS`) to clients that ask.
   */
  resumeGraceMs?: number;
  /** A resumable session's replay buffer, in bytes. Default `DEFAULT_REPLAY_BUFFER_BYTES`. */
  replayBufferBytes?: number;
}

/** What a resumable session has beyond a plain one. */
interface Resumable {
  state: ResumeState;
  replay: ReplayBuffer;
  graceMs: number;
  /** The first frame on the first connection; the secret is not kept anywhere else. */
  sessionFrame: string | undefined;
  grace: NodeJS.Timeout | undefined;
  /** The last client seq acknowledged, and the timer of the next ack. */
  clientAcked: number;
  clientAck: NodeJS.Timeout | undefined;
}

/** Client frames are acknowledged after this many, or this long after the first unacknowledged one. */
const CLIENT_ACK_EVERY = 32;
const CLIENT_ACK_QUIET_MS = 250;

/**
 * One client session: the engine (the protocol rules) and the adapters that
 * carry out its effects, each in a file of its own: the outbox (frames out),
 * the runners (requests), the timers (heartbeat, wind-down) and the
 * connection's artifacts. It does not own a socket: frames come in through
 * `receive`, leave through `outbox` to whichever socket is attached, and
 * `transportClosed` says the socket is gone.
 */
export class Session {
  private readonly engine = new SessionEngine();
  readonly outbox: Outbox;
  /** Redacted with the connection's secrets. */
  readonly log: LogSink;
  /** Where lines go before redaction (the session's `log` redacts on top of it). */
  private readonly sink: LogSink;
  /** Where refused frames go, when the server shares one sink for them (see `refusalLogSink`). */
  private readonly refusalTarget: LogSink | undefined;
  /** Refused frames, redacted and rate-limited; made on the first one (see `refusalLog`). */
  private refusalSink: LogSink | undefined;
  private readonly runners: Runners;
  private readonly timers: SessionTimers;
  /**
   * Watches, offers and uploads this connection's artifacts; its offers go
   * out through the engine. Made on first use (`artifacts`): most
   * connections never name an artifacts directory.
   */
  private artifactManager: ArtifactManager | undefined;
  /** Only the artifact settings are kept: the options may hold the upgrade request. */
  private readonly artifactSettings: ArtifactSettings | undefined;
  private readonly connectionId: string | undefined;
  private conversationStore: ConversationStore | undefined;
  private readonly closed: Promise<void>;
  private markClosed!: () => void;
  private readonly resumable: Resumable | undefined;
  private transportGone = false;

  constructor(options: SessionOptions) {
    this.connectionId = options.connectionId;
    this.sink = options.logSink ?? silentSink;
    this.log = redactingSink(this.sink, this.secretsNow);
    this.refusalTarget = options.refusalLogSink;
    this.resumable = resumableOf(options);
    this.outbox = new Outbox({
      highWaterMark: options.sendHighWaterMark,
      maxBufferedBytes: options.maxBufferedBytes,
      log: this.log,
      connectionId: options.connectionId,
      replay: this.resumable?.replay,
    });
    const conversationSettings = options.conversations;
    this.runners = new Runners(
      {
        handler: toAgentHandler(options.handler),
        hiddenEnv: options.hiddenEnv ?? [],
        maxCapturedStdout: options.maxCapturedStdout ?? DEFAULT_MAX_CAPTURED_BYTES,
        killGraceMs: options.killGraceMs ?? DEFAULT_KILL_GRACE_MS,
        downloadLimits: options.downloads,
        conversations: () => {
          this.conversationStore ??= new ConversationStore(conversationSettings);
          return this.conversationStore;
        },
      },
      this.log,
      (requestId) => this.guard(() => this.apply(this.engine.settled(requestId))),
    );
    this.timers = new SessionTimers({
      heartbeatIntervalMs: options.heartbeatIntervalMs,
      windDownTimeoutMs: options.windDownTimeoutMs,
      beat: () => {
        if (this.engine.activeRequestId === undefined) return false;
        this.guard(() => this.apply(this.engine.heartbeat()));
        return true;
      },
      windDownExpired: () => this.guard(() => this.apply(this.engine.windDownExpired())),
    });
    this.artifactSettings = options.artifacts;
    this.closed = new Promise((resolve) => {
      this.markClosed = resolve;
    });
  }

  /** The connection's secret list, read when a line or file is redacted. */
  private readonly secretsNow = () => this.engine.secrets;

  private get artifacts(): ArtifactManager {
    this.artifactManager ??= new ArtifactManager({
      ...this.artifactSettings,
      // Unguarded: the artifact tracker reports a failed offer itself.
      offer: (offer) => this.apply(this.engine.offerArtifact(offer)),
      log: this.sink,
      secrets: this.secretsNow,
    });
    return this.artifactManager;
  }

  private get refusalLog(): LogSink {
    this.refusalSink ??= redactingSink(this.refusalTarget ?? budgetedSink(this.sink), this.secretsNow);
    return this.refusalSink;
  }

  get requestInFlight(): boolean {
    return this.engine.activeRequestId !== undefined;
  }

  /** The session id of a resumable session. */
  get resumeId(): string | undefined {
    return this.resumable?.state.sessionId;
  }

  /** True once the session is over for good: nothing more is sent, it cannot be resumed. */
  get ended(): boolean {
    return this.transportGone || this.engine.state === "closed";
  }

  /**
   * A resumable session's first frame (`session_message`, with the secret),
   * exactly once; undefined for a plain session and afterwards.
   */
  takeSessionFrame(): string | undefined {
    const resumable = this.resumable;
    const frame = resumable?.sessionFrame;
    if (resumable) resumable.sessionFrame = undefined;
    return frame;
  }

  /** True when `secret` resumes this session. */
  verifyResume(secret: string | undefined): boolean {
    return this.resumable?.state.verify(secret) ?? false;
  }

  /**
   * A frame of a resumable connection arrived: acks free the replay buffer;
   * a numbered client message already taken (re-sent after a resume) is
   * acknowledged again and otherwise ignored.
   */
  receiveFrame(parsed: ParseResult<ClientFrame>): void {
    const resumable = this.resumable;
    if (!parsed.ok) {
      this.receive(parsed);
      return;
    }
    const frame = parsed.message;
    if (resumable === undefined) {
      if ("message" in frame) this.receive({ ok: true, message: frame.message });
      return;
    }
    if ("control" in frame) {
      if (resumable.replay.ack(frame.control.seq) && !resumable.replay.holding) this.outbox.release();
      return;
    }
    if (frame.seq !== undefined) {
      const fresh = resumable.state.take(frame.seq);
      // A frame seen twice was re-sent because its ack was lost: acknowledge at once.
      if (!fresh) {
        this.ackClient(resumable);
        return;
      }
      this.scheduleClientAck(resumable);
    }
    this.receive({ ok: true, message: frame.message });
  }

  /**
   * Client frames are acknowledged lazily (they are few, and the client only
   * needs acks to let go of what it would re-send): after `CLIENT_ACK_EVERY`
   * frames, or `CLIENT_ACK_QUIET_MS` after the first unacknowledged one.
   */
  private scheduleClientAck(resumable: Resumable): void {
    if (resumable.state.lastClientSeq - resumable.clientAcked >= CLIENT_ACK_EVERY) {
      this.ackClient(resumable);
      return;
    }
    if (resumable.clientAck !== undefined) return;
    resumable.clientAck = setTimeout(() => this.ackClient(resumable), CLIENT_ACK_QUIET_MS);
    resumable.clientAck.unref();
  }

  private ackClient(resumable: Resumable): void {
    if (resumable.clientAck !== undefined) clearTimeout(resumable.clientAck);
    resumable.clientAck = undefined;
    resumable.clientAcked = resumable.state.lastClientSeq;
    this.outbox.sendControl(JSON.stringify({ message_type: "ack_message", seq: resumable.clientAcked }));
  }

  /**
   * The connection of a resumable session dropped: the session detaches and
   * waits `resumeGraceMs` for a resume; what it sends meanwhile is kept for
   * the replay. Then it ends like a plain disconnect.
   */
  transportDropped(): void {
    const resumable = this.resumable;
    if (resumable === undefined || this.ended) {
      this.transportClosed();
      return;
    }
    this.outbox.detach();
    if (resumable.grace !== undefined) return;
    resumable.grace = setTimeout(() => {
      resumable.grace = undefined;
      this.log.write("warn", `resume grace expired after ${resumable.graceMs} ms; ending the session`, {
        connection: this.connectionId,
        request_in_flight: this.requestInFlight,
      });
      this.transportClosed();
    }, resumable.graceMs);
    this.log.write("info", "connection dropped; waiting for a resume", {
      connection: this.connectionId,
      grace_ms: resumable.graceMs,
      buffered_bytes: resumable.replay.bytes,
    });
  }

  /**
   * A client resumes after `lastSeq`: the `resumed_message` and the frames
   * to replay, in order, for the new connection's first writes; or the gap
   * when some were dropped. Stops the grace timer either way.
   */
  resumeAfter(lastSeq: number): Replay {
    const resumable = this.resumable;
    if (resumable === undefined) return { ok: false, droppedThrough: 0 };
    if (resumable.grace !== undefined) clearTimeout(resumable.grace);
    resumable.grace = undefined;
    const replay = resumable.replay.framesAfter(lastSeq);
    if (!replay.ok) return replay;
    const resumed: ResumedMessage = {
      message_type: "resumed_message",
      session_id: resumable.state.sessionId,
      last_client_seq: resumable.state.lastClientSeq,
    };
    return { ok: true, frames: [Buffer.from(JSON.stringify(resumed)), ...replay.frames] };
  }

  /** A frame arrived and was parsed at the edge. */
  receive(parsed: ParseResult<ClientMessage>): void {
    if (!parsed.ok) {
      this.refusalLog.write("warn", "frame refused", {
        connection: this.connectionId,
        code: parsed.error.code,
        field: parsed.error.field,
        error: parsed.error.message,
      });
    }
    this.guard(() => this.apply(this.engine.receive(parsed)));
  }

  /** The socket is gone: the request in flight is aborted, producers are released, artifacts stop. */
  transportClosed(): void {
    this.transportGone = true;
    if (this.resumable?.grace !== undefined) clearTimeout(this.resumable.grace);
    if (this.resumable?.clientAck !== undefined) clearTimeout(this.resumable.clientAck);
    try {
      this.guard(() => this.apply(this.engine.transportClosed()));
    } finally {
      this.timers.clear();
      this.outbox.detach();
      this.outbox.release();
      void this.artifactManager?.close();
      this.markClosed();
    }
  }

  /** Ends the session for a runtime shutdown: the request in flight gets its terminal first. */
  async shutdown(): Promise<void> {
    this.guard(() => this.apply(this.engine.shutdown()));
    // A detached session has no socket whose close would end it.
    if (this.resumable?.grace !== undefined) this.transportClosed();
    await this.artifactManager?.close({ abandonUploads: true });
    await this.done();
  }

  /** Resolves once the transport is closed for good (a resumable session's: once it ended); runners may still run. */
  transportEnded(): Promise<void> {
    return this.closed;
  }

  /** Resolves once the transport is closed and every runner has returned. */
  async done(): Promise<void> {
    await this.closed;
    if (this.runners.count > 0) await this.runners.allReturned();
  }

  /** Errors from our own code must end this session only, never the process. */
  private guard(fn: () => void): void {
    try {
      fn();
    } catch (error) {
      this.failed(error);
    }
  }

  private failed(error: unknown): void {
    this.log.write("error", "session failed; closing the connection", {
      connection: this.connectionId,
      error: error instanceof Error ? (error.stack ?? error.message) : String(error),
    });
    this.outbox.terminate();
  }

  private apply(effects: SessionEffect[]): void {
    for (const effect of effects) this.perform(effect);
  }

  private perform(effect: SessionEffect): void {
    switch (effect.type) {
      case "send":
        void this.outbox.send(effect.message);
        return;
      case "start":
        this.start(effect.requestId, effect.request);
        return;
      case "abort":
        this.runners.abort(effect.requestId, effect.reason);
        return;
      case "wait_for_wind_down":
        this.timers.startWindDown();
        return;
      case "artifact_response":
        this.artifacts.handleUploadResponse(effect.message);
        return;
      case "answer":
        this.runners.answer(effect.requestId, effect.message);
        return;
      case "interrupt":
        this.runners.interrupt(effect.requestId);
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
        this.timers.stopHeartbeat();
        this.outbox.close(effect.code, effect.reason);
        return;
      case "request_ended":
        if (this.log.enabled?.("info") === false) return;
        this.log.write("info", "request end", {
          connection: this.connectionId,
          request: String(effect.requestId),
          kind: effect.request.message_type === "invocation_message" ? "invocation" : "commands",
          source_id: effect.request.source_id,
          outcome: effect.outcome,
          duration_ms: Math.round(effect.durationMs),
        });
        return;
    }
  }

  private start(requestId: number, request: RequestMessage): void {
    this.timers.clearWindDown();
    if (this.log.enabled?.("info") !== false) {
      this.log.write("info", "request start", {
        connection: this.connectionId,
        request: String(requestId),
        kind: request.message_type === "invocation_message" ? "invocation" : "commands",
        source_id: request.source_id,
        conversation: request.message_type === "invocation_message" ? request.conversation_id : undefined,
      });
    }
    this.runners.start(requestId, request, this.hostFor(requestId));
    if (this.engine.interruptedBeforeStart(requestId)) this.runners.interrupt(requestId);
    this.timers.startHeartbeat();
  }

  /** What request `requestId`'s runner may do: everything it sends goes through the engine. */
  private hostFor(requestId: number): RequestHost {
    return new SessionRequestHost(this, requestId);
  }

  /** A runner's non-terminal message. Guarded like every effect, but inline: this runs once per streamed message. */
  emitFor(requestId: number, message: RuntimeMessage): Promise<void> {
    try {
      const clean = this.engine.emitted(requestId, message);
      if (clean === undefined) return dropped();
      if (!Array.isArray(clean)) return this.outbox.send(clean);
      // Spread over several frames: the producer waits for the last, as for one.
      let sent: Promise<void> | undefined;
      for (const frame of clean) sent = this.outbox.send(frame);
      return sent ?? dropped();
    } catch (error) {
      this.failed(error);
    }
    return dropped();
  }

  terminateFor(requestId: number, terminal: TerminalMessage): void {
    this.guard(() => this.apply(this.engine.terminate(requestId, terminal)));
  }

  setPhaseFor(requestId: number, phase: string): void {
    this.engine.setPhase(requestId, phase);
  }

  openPromptFor(requestId: number, prompt: Prompt): string | undefined {
    let id: string | undefined;
    this.guard(() => {
      const opened = this.engine.openPrompt(requestId, prompt);
      if (opened === undefined) return;
      id = opened.id;
      this.apply(opened.effects);
    });
    return id;
  }

  closePrompt(id: string): void {
    this.engine.closePrompt(id);
  }

  get secretList(): readonly string[] {
    return this.engine.secrets;
  }

  get logConnectionId(): string | undefined {
    return this.connectionId;
  }

  watchArtifacts(dirs: string[], ignoreContent: string | undefined): Promise<void> {
    return this.artifacts.watch(dirs, ignoreContent);
  }

  /** Offers what is new in the watched directories; undefined when nothing was ever watched here. */
  offerArtifacts(): Promise<void> | undefined {
    return this.artifactManager?.offerPending();
  }
}

type Prompt = Parameters<RequestHost["openPrompt"]>[0];

/**
 * A request's view of its session (see `RequestHost`): one small object per
 * request, its methods on the prototype rather than a dozen closures.
 */
class SessionRequestHost implements RequestHost {
  /** The handler returned its result: what it sends after that is a mistake worth one log line. */
  private returned = false;
  private toldLate = false;

  constructor(
    private readonly session: Session,
    private readonly requestId: number,
  ) {}

  get log(): LogSink {
    return this.session.log;
  }

  get logFields(): LogFields {
    return { connection: this.session.logConnectionId, request: String(this.requestId) };
  }

  emit(message: RuntimeMessage): Promise<void> {
    if (this.returned && !this.toldLate) {
      // Dropped like every message of an ended request; said once, since it is usually a send that was not awaited.
      this.toldLate = true;
      this.log.write("warn", "the handler sent a message after returning its result; dropped (a send not awaited?)", {
        ...this.logFields,
        message_type: message.message_type,
      });
    }
    return this.session.emitFor(this.requestId, message);
  }

  terminate(terminal: TerminalMessage): void {
    if (terminal.message_type === "result_message") this.returned = true;
    this.session.terminateFor(this.requestId, terminal);
  }

  setPhase(phase: string): void {
    this.session.setPhaseFor(this.requestId, phase);
  }

  openPrompt(prompt: Prompt): string | undefined {
    return this.session.openPromptFor(this.requestId, prompt);
  }

  closePrompt(id: string): void {
    this.session.closePrompt(id);
  }

  secrets(): readonly string[] {
    return this.session.secretList;
  }

  watchArtifacts(dirs: string[], ignoreContent: string | undefined): Promise<void> {
    return this.session.watchArtifacts(dirs, ignoreContent);
  }

  offerArtifacts(): Promise<void> | undefined {
    return this.session.offerArtifacts();
  }
}

function resumableOf(options: SessionOptions): Resumable | undefined {
  const graceMs = options.resumeGraceMs ?? 0;
  if (graceMs <= 0) return undefined;
  const { state, secret } = ResumeState.create();
  const replay = new ReplayBuffer(options.replayBufferBytes ?? DEFAULT_REPLAY_BUFFER_BYTES);
  const frame: SessionMessage = {
    message_type: "session_message",
    session_id: state.sessionId,
    resume_secret: secret,
    resume_grace_ms: graceMs,
    replay_buffer_bytes: replay.limitBytes,
  };
  return {
    state,
    replay,
    graceMs,
    sessionFrame: JSON.stringify(frame),
    grace: undefined,
    clientAcked: 0,
    clientAck: undefined,
  };
}
