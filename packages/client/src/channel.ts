import {
  ClientErrorCode,
  type ClientMessage,
  ErrorCode,
  type ParsedRuntimeMessage,
  parseRuntimeFrame,
  parseRuntimeMessage,
  RESUME_SECRET_HEADER,
  ResumeCloseCode,
  type RuntimeControlMessage,
} from "@runtimeuse/protocol";
import { ConnectionError, ConnectionLostError, ProtocolViolationError } from "./errors.js";
import { ACK_QUIET_MS, ResumeLink, reconnectDelay, resumableUrl } from "./resume-link.js";
import { type Bound, boundAfter, earliest, now, schedule, timeoutError } from "./timing.js";
import type { Connection, Transport } from "./transport/types.js";

export const TIMED_OUT = Symbol("timed out");

/** Above this many waiting messages the connection is paused (when the transport can pause). */
const PAUSE_AT = 64;
const FRAME_EXCERPT = 200;

export interface ChannelConfig {
  transport: Transport;
  url: string;
  token?: string;
  headers?: Record<string, string>;
  connectTimeout: number;
  maxFrameBytes: number;
  /** Hard cap on validated messages waiting to be consumed (for transports that cannot pause). */
  maxQueuedMessages: number;
  /** Ask for a resumable connection and resume it after a drop; undefined: a plain connection. */
  reconnect?: ReconnectConfig | undefined;
}

export interface ReconnectConfig {
  maxAttempts: number;
  maxDelay: number;
  onReconnect?: ((event: ReconnectEvent) => unknown) | undefined;
}

/** What `onReconnect` is told after a connection was resumed. */
export interface ReconnectEvent {
  /** Resumes so far on this connection, this one included. */
  reconnects: number;
  /** Attempts this resume took. */
  attempts: number;
  /** Milliseconds from the drop to the resume. */
  downtimeMs: number;
}

/**
 * What the request driver, the idle pump, a background drain and a session
 * need from a connection: an ordered stream of validated runtime messages,
 * one reader at a time, and a way to send. `Channel` is the implementation
 * over one connection. A channel that reconnects underneath and replays what
 * was missed (resuming by sequence number, deduplicating) implements the same
 * contract, so nothing above it, the tracker's rules least of all, changes.
 */
export interface RuntimeChannel {
  /** Why the stream ended, if it has. */
  readonly endedWith: Error | undefined;
  /** True once the end reason has been thrown to some caller, so it is not reported twice. */
  readonly endReported: boolean;
  /**
   * The next message, or `TIMED_OUT` once `until` passes or `interrupt()` is
   * called. Throws the end reason when the stream has ended and every earlier
   * message was consumed; a `quiet` reader (background work) leaves it to be
   * reported to a caller.
   */
  next(until?: number, quiet?: boolean): Promise<ParsedRuntimeMessage | typeof TIMED_OUT>;
  /** Sends one client message. Throws the end reason when the stream has ended. */
  send(message: ClientMessage): void;
  /** How many times the connection was resumed after a drop. */
  readonly reconnects: number;
  /** Like `send`, for messages whose loss does not matter: a failure ends the stream instead of throwing. */
  trySend(message: ClientMessage): void;
  /** Ends the stream with `error` and closes the connection. */
  fail(error: Error): void;
  /** Makes a reader that is waiting right now return `TIMED_OUT` at once. */
  interrupt(): void;
  /** Records that the end reason was thrown to a caller by other means. */
  markReported(): void;
  /** Runs `task` as a reader after the background work already queued. */
  inBackground(task: () => Promise<void>): void;
  /** Resolves once background work is over. */
  settled(): Promise<void>;
  /** Closes the connection; messages still queued are dropped. */
  close(): void;
}

/**
 * One connection, seen as an ordered stream of validated runtime messages.
 * Frames are checked where they arrive: a frame that fails validation ends
 * the stream with a `ProtocolViolationError` after the messages before it, and
 * closes the connection. A closed connection ends it with a `ConnectionError`.
 * Exactly one consumer reads at a time (the request, the idle pump, a
 * background drain, or close in progress). The channel owns the connection's
 * state and knows nothing of requests: the rules live in the tracker and its
 * drivers above it.
 */
export class Channel implements RuntimeChannel {
  private readonly queue: ParsedRuntimeMessage[] = [];
  private ended: Error | undefined;
  private reported = false;
  private wake: (() => void) | undefined;
  private connection: Connection | undefined;
  private paused = false;
  private interrupted = false;
  private lastTransportError: Error | undefined;
  /** Counts connections, so that events of a replaced one are ignored. */
  private generation = 0;
  /** The resumable session, once the runtime announced one. */
  private link: ResumeLink | undefined;
  /** From a drop until the runtime confirmed the resume: own frames wait to be re-sent in order. */
  private resuming: { since: number; attempts: number } | undefined;
  private reconnectLoop = false;
  /** While a resume attempt waits for `resumed_message`: told true when it came, false when the connection closed. */
  private resumeAnswer: ((resumed: boolean) => void) | undefined;
  private ackTimer: ReturnType<typeof setTimeout> | undefined;
  private resumed = 0;
  /** Background work the next consumer must wait for (a drain after a timeout). */
  private backlog: Promise<void> = Promise.resolve();

  private constructor(private readonly config: ChannelConfig) {}

  /**
   * Opens a connection. Rejects with `TimeoutError` (connectTimeout or the
   * caller's bound), `cancel.error()` when `cancel.signal` fires, or the transport's error.
   */
  static async open(
    config: ChannelConfig,
    cancel?: { signal: AbortSignal; error: () => Error },
    callerBound?: Bound,
  ): Promise<Channel> {
    const channel = new Channel(config);
    const bound = earliest(boundAfter("connectTimeout", config.connectTimeout), callerBound);
    const url = config.reconnect ? resumableUrl(config.url) : config.url;
    await channel.connect(url, config.headers, bound, cancel);
    return channel;
  }

  /**
   * Opens one connection and makes it the current one. Rejects with
   * `TimeoutError` (the bound), `cancel.error()` when `cancel.signal` fires,
   * or the transport's error.
   */
  private async connect(
    url: string,
    headers: Record<string, string> | undefined,
    bound: Bound | undefined,
    cancel?: { signal: AbortSignal; error: () => Error },
  ): Promise<void> {
    const attempt = new AbortController();
    const onAbort = () => attempt.abort(cancel?.error());
    cancel?.signal.addEventListener("abort", onAbort, { once: true });
    if (cancel?.signal.aborted) onAbort();
    const cancelTimer = bound ? schedule(bound.at, () => attempt.abort(timeoutError(bound))) : () => {};
    const generation = ++this.generation;
    const current = () => this.generation === generation;
    // Frames can arrive in the same read as the handshake, before `connect` resolves: they wait
    // until this connection is the current one, so that answers go out on it.
    let early: Array<() => void> | undefined = [];
    const whenCurrent = (event: () => void) => {
      if (!current()) return;
      if (early) early.push(event);
      else event();
    };
    let connection: Connection;
    try {
      connection = await this.config.transport.connect(
        {
          url,
          ...(this.config.token === undefined ? {} : { token: this.config.token }),
          ...(headers === undefined ? {} : { headers }),
          maxFrameBytes: this.config.maxFrameBytes,
          signal: attempt.signal,
        },
        {
          onMessage: (data) => whenCurrent(() => this.onFrame(data)),
          onClose: (code, reason) => whenCurrent(() => this.onClose(code, reason)),
          onError: (error) =>
            whenCurrent(() => {
              this.lastTransportError = error;
            }),
        },
      );
    } catch (error) {
      throw attempt.signal.aborted ? attempt.signal.reason : error;
    } finally {
      cancelTimer();
      cancel?.signal.removeEventListener("abort", onAbort);
    }
    if (this.ended) {
      // Closed while this handshake was under way (a resume attempt): the connection is not
      // adopted, and the close ends the session it would have resumed.
      connection.close();
      return;
    }
    this.connection = connection;
    this.lastTransportError = undefined;
    if (this.paused) connection.pause?.();
    const waiting = early;
    early = undefined;
    for (const event of waiting) event();
  }

  /** Why the stream ended, if it has. */
  get endedWith(): Error | undefined {
    return this.ended;
  }

  /** True once the end reason has been thrown to some caller, so it is not reported twice. */
  get endReported(): boolean {
    return this.reported;
  }

  /** Resolves once background work (a drain) is over. */
  settled(): Promise<void> {
    return this.backlog;
  }

  /**
   * The next message, or `TIMED_OUT` once `until` passes. Throws the end
   * reason when the stream has ended and every earlier message was consumed;
   * a `quiet` reader (background work) leaves it to be reported to a caller.
   */
  async next(until?: number, quiet = false): Promise<ParsedRuntimeMessage | typeof TIMED_OUT> {
    for (;;) {
      const message = this.queue.shift();
      if (message) {
        if (this.paused && this.queue.length < PAUSE_AT / 2) {
          this.paused = false;
          this.connection?.resume?.();
        }
        return message;
      }
      if (this.ended) {
        if (!quiet) this.reported = true;
        throw this.ended;
      }
      if (this.wake) throw new Error("Channel.next: a second reader while one is waiting");
      let timedOut = false;
      await new Promise<void>((resolve) => {
        const cancel =
          until === undefined
            ? () => {}
            : schedule(until, () => {
                timedOut = true;
                resolve();
              });
        this.wake = () => {
          cancel();
          resolve();
        };
      });
      this.wake = undefined;
      if (timedOut || this.interrupted) {
        this.interrupted = false;
        return TIMED_OUT;
      }
    }
  }

  get reconnects(): number {
    return this.resumed;
  }

  /** Sends one client message. Throws the end reason when the connection has ended. */
  send(message: ClientMessage): void {
    const link = this.link;
    if (link && !this.ended) {
      // Numbered and kept until acknowledged: a frame lost in a drop is re-sent after the resume.
      const text = link.number(message);
      if (this.resuming) return;
      try {
        this.connection?.send(text);
      } catch {
        // The drop is reported by onClose; the frame goes again after the resume.
      }
      return;
    }
    if (this.ended || !this.connection) {
      this.reported = true;
      throw this.ended ?? new ConnectionError("the connection is not open");
    }
    try {
      this.connection.send(JSON.stringify(message));
    } catch (error) {
      this.fail(new ConnectionError(`sending to the runtime failed: ${describe(error)}`, { cause: error }));
      this.reported = true;
      throw this.ended;
    }
  }

  /** Like `send`, for messages whose loss does not matter (a cancel on a connection that is going away). */
  trySend(message: ClientMessage): void {
    if (this.ended) return;
    try {
      this.send(message);
    } catch {}
  }

  /**
   * Ends the stream with `error` and closes the connection. Later frames are
   * dropped; so are queued ones unless `keepQueued` (they came before the
   * problem and are still delivered in order).
   */
  fail(error: Error, keepQueued = false): void {
    if (this.ended) return;
    this.ended = error;
    this.resumeAnswer?.(false);
    if (this.ackTimer !== undefined) clearTimeout(this.ackTimer);
    if (!keepQueued) this.queue.length = 0;
    this.connection?.close();
    this.wake?.();
  }

  /**
   * Makes a reader that is waiting right now return `TIMED_OUT` at once, so it
   * can wait again with a new deadline. No effect when no one is waiting.
   */
  interrupt(): void {
    if (!this.wake) return;
    this.interrupted = true;
    this.wake();
  }

  /** Records that the end reason was thrown to a caller by other means. */
  markReported(): void {
    this.reported = true;
  }

  /** Closes the connection; messages still queued are dropped. */
  close(): void {
    this.fail(new ConnectionError("the connection was closed by this client"));
    this.reported = true;
  }

  /**
   * Runs `task` (a background reader, such as the drain of an abandoned
   * request) after the background work already queued; `settled()` waits for
   * it. `task` must not reject.
   */
  inBackground(task: () => Promise<void>): void {
    this.backlog = this.backlog.then(task);
  }

  private onFrame(data: string | Uint8Array): void {
    if (this.ended) return;
    if (typeof data !== "string") {
      this.violation(
        ErrorCode.BinaryFrame,
        `the runtime sent a binary frame (${data.byteLength} bytes); expected JSON text`,
      );
      return;
    }
    if (data.length > this.config.maxFrameBytes) {
      this.violation(
        ClientErrorCode.FrameTooLarge,
        `the runtime sent a frame larger than maxFrameBytes (${this.config.maxFrameBytes})`,
      );
      return;
    }
    const parsed = this.config.reconnect ? parseRuntimeFrame(data) : parseRuntimeMessage(data);
    if (!parsed.ok) {
      const { code, message, field } = parsed.error;
      this.violation(code, `the runtime sent a malformed frame: ${message}`, field, data.slice(0, FRAME_EXCERPT));
      return;
    }
    let message: ParsedRuntimeMessage;
    if ("message_type" in parsed.message) message = parsed.message;
    else if ("control" in parsed.message) {
      this.onControl(parsed.message.control);
      return;
    } else {
      const { seq } = parsed.message;
      if (seq !== undefined && this.link) {
        // A frame replayed after a resume that this side already has.
        if (!this.link.receive(seq)) return;
        this.scheduleAck();
      }
      message = parsed.message.message;
    }
    this.queue.push(message);
    if (this.queue.length > this.config.maxQueuedMessages) {
      this.fail(
        new ConnectionError(
          `more than maxQueuedMessages (${this.config.maxQueuedMessages}) messages from the runtime were waiting to be consumed; the connection was closed`,
          { code: ClientErrorCode.TooManyQueuedMessages },
        ),
      );
      return;
    }
    if (!this.paused && this.queue.length >= PAUSE_AT) {
      this.paused = true;
      this.connection?.pause?.();
    }
    this.wake?.();
  }

  private violation(code: ErrorCode | ClientErrorCode, message: string, field?: string, frame?: string): void {
    this.fail(
      new ProtocolViolationError(message, {
        code,
        ...(field === undefined ? {} : { field }),
        ...(frame === undefined ? {} : { frame }),
      }),
      true,
    );
  }

  /** A control frame of a resumable connection (docs/PROTOCOL.md, "Resumable connections"). */
  private onControl(control: RuntimeControlMessage): void {
    const link = this.link;
    switch (control.message_type) {
      case "session_message":
        this.link ??= new ResumeLink(control);
        return;
      case "ack_message":
        link?.acknowledged(control.seq);
        return;
      case "resumed_message": {
        const resuming = this.resuming;
        if (!link || !resuming) return;
        this.resuming = undefined;
        this.resumeAnswer?.(true);
        for (const text of link.resendAfter(control.last_client_seq)) {
          try {
            this.connection?.send(text);
          } catch {}
        }
        this.resumed++;
        const onReconnect = this.config.reconnect?.onReconnect;
        if (onReconnect) {
          const event = { reconnects: this.resumed, attempts: resuming.attempts, downtimeMs: now() - resuming.since };
          // The caller's callback must not break the connection.
          try {
            void Promise.resolve(onReconnect(event)).catch(() => {});
          } catch {}
        }
        this.scheduleAck();
        return;
      }
    }
  }

  /** Acknowledges received frames after `ACK_QUIET_MS`, or at once when many are unacknowledged. */
  private scheduleAck(): void {
    const link = this.link;
    if (!link || this.resuming) return;
    if (link.ackDue) {
      this.sendAck();
      return;
    }
    if (this.ackTimer !== undefined) return;
    this.ackTimer = setTimeout(() => {
      this.ackTimer = undefined;
      this.sendAck();
    }, ACK_QUIET_MS);
    (this.ackTimer as { unref?: () => void }).unref?.();
  }

  private sendAck(): void {
    if (this.ackTimer !== undefined) clearTimeout(this.ackTimer);
    this.ackTimer = undefined;
    if (this.ended || this.resuming) return;
    const text = this.link?.takeAck();
    if (text === undefined) return;
    try {
      this.connection?.send(text);
    } catch {}
  }

  /**
   * A resumable connection dropped: reconnect with backoff until the runtime
   * confirms the resume, the attempts run out, the grace window it announced
   * passes, or it refuses; then the stream ends with `ConnectionLostError`,
   * after the messages already received.
   */
  private async reconnect(link: ResumeLink, config: ReconnectConfig, since: number): Promise<void> {
    if (this.reconnectLoop) return;
    this.reconnectLoop = true;
    let last: unknown = this.lastTransportError;
    let attempts = this.resuming?.attempts ?? 0;
    try {
      while (!this.ended) {
        const elapsed = now() - since;
        if (attempts >= config.maxAttempts || elapsed >= link.graceMs) break;
        attempts++;
        if (this.resuming) this.resuming.attempts = attempts;
        await new Promise((resolve) =>
          setTimeout(resolve, Math.min(reconnectDelay(attempts, config.maxDelay), link.graceMs - elapsed)),
        );
        if (this.ended) return;
        const secretInQuery = this.config.transport.sendsHeaders !== true;
        const headers = secretInQuery
          ? this.config.headers
          : { ...this.config.headers, [RESUME_SECRET_HEADER]: link.secret };
        const remaining = link.graceMs - (now() - since);
        // A handshake that stalls must not use up the window: an attempt lasts at most the
        // maximum delay between attempts (and at least a second), and so does its wait for the answer.
        const attemptMs = Math.max(1, Math.min(this.config.connectTimeout, remaining, Math.max(1000, config.maxDelay)));
        try {
          await this.connect(
            link.resumeUrl(this.config.url, secretInQuery),
            headers,
            boundAfter("connectTimeout", attemptMs),
          );
        } catch (error) {
          last = error;
          // The runtime answered: the session is gone (404) or not ours (401); waiting will not change that.
          if (error instanceof ConnectionError && error.status !== undefined && error.status < 500) break;
          continue;
        }
        if (this.ended) return;
        const connection = this.connection;
        // A transport that cannot drop a connection leaves a silent one to its pings, as before.
        if (connection?.drop === undefined || (await this.answeredWithin(attemptMs))) return;
        if (this.ended) return;
        last = new ConnectionError(`the runtime did not answer the resume within ${Math.round(attemptMs)} ms`);
        // Dropped, not closed with 1000: the runtime keeps the session for the next attempt.
        if (this.connection === connection) connection.drop();
      }
      if (this.ended) return;
      const elapsedMs = Math.round(now() - since);
      this.fail(
        new ConnectionLostError(
          `the connection to the runtime was lost and could not be resumed (${attempts} attempt(s) over ${elapsedMs} ms): ${describe(last)}`,
          { attempts, elapsedMs, ...(last === undefined ? {} : { cause: last }) },
        ),
        true,
      );
    } finally {
      this.reconnectLoop = false;
    }
  }

  /**
   * Waits for the runtime's answer to a resume: true once `resumed_message`
   * came (or had already come with the handshake), false when the connection
   * closed first or `ms` passed.
   */
  private answeredWithin(ms: number): Promise<boolean> {
    if (this.resuming === undefined) return Promise.resolve(true);
    return new Promise((resolve) => {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const answer = (resumed: boolean) => {
        clearTimeout(timer);
        this.resumeAnswer = undefined;
        resolve(resumed);
      };
      timer = setTimeout(() => answer(false), ms);
      this.resumeAnswer = answer;
    });
  }

  private onClose(code: number, reason: string): void {
    this.resumeAnswer?.(false);
    if (this.ended) return;
    const link = this.link;
    const config = this.config.reconnect;
    if (link && config && !(this.lastTransportError instanceof ProtocolViolationError)) {
      if (code === ResumeCloseCode.ReplayGap || code === ResumeCloseCode.Superseded) {
        const elapsedMs = this.resuming ? Math.round(now() - this.resuming.since) : 0;
        this.fail(
          new ConnectionLostError(
            `the runtime refused to resume the connection (code ${code}${reason ? `: ${reason}` : ""})`,
            { attempts: this.resuming?.attempts ?? 0, elapsedMs },
          ),
          true,
        );
        return;
      }
      // 1000 and 1001: the runtime ended the session (or is going away); nothing to resume.
      if (code !== 1000 && code !== 1001) {
        this.resuming ??= { since: now(), attempts: 0 };
        if (this.ackTimer !== undefined) clearTimeout(this.ackTimer);
        this.ackTimer = undefined;
        void this.reconnect(link, config, this.resuming.since);
        return;
      }
    }
    if (this.lastTransportError instanceof ProtocolViolationError) {
      this.ended = this.lastTransportError;
      this.wake?.();
      return;
    }
    const detail = this.lastTransportError ? `: ${this.lastTransportError.message}` : reason ? `: ${reason}` : "";
    this.ended = new ConnectionError(`the connection to the runtime closed (code ${code}${detail})`, {
      closeCode: code,
      closeReason: reason,
      ...(this.lastTransportError ? { cause: this.lastTransportError } : {}),
    });
    this.wake?.();
  }
}

export function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
