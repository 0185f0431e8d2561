import {
  ClientErrorCode,
  type ClientMessage,
  ErrorCode,
  type ParsedRuntimeMessage,
  parseRuntimeMessage,
} from "@runtimeuse/protocol";
import { ConnectionError, ProtocolViolationError } from "./errors.js";
import { type Bound, boundAfter, earliest, schedule, timeoutError } from "./timing.js";
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
    const attempt = new AbortController();
    const onAbort = () => attempt.abort(cancel?.error());
    cancel?.signal.addEventListener("abort", onAbort, { once: true });
    if (cancel?.signal.aborted) onAbort();
    const cancelTimer = bound ? schedule(bound.at, () => attempt.abort(timeoutError(bound))) : () => {};
    try {
      channel.connection = await config.transport.connect(
        {
          url: config.url,
          ...(config.token === undefined ? {} : { token: config.token }),
          ...(config.headers === undefined ? {} : { headers: config.headers }),
          maxFrameBytes: config.maxFrameBytes,
          signal: attempt.signal,
        },
        {
          onMessage: (data) => channel.onFrame(data),
          onClose: (code, reason) => channel.onClose(code, reason),
          onError: (error) => {
            channel.lastTransportError = error;
          },
        },
      );
    } catch (error) {
      throw attempt.signal.aborted ? attempt.signal.reason : error;
    } finally {
      cancelTimer();
      cancel?.signal.removeEventListener("abort", onAbort);
    }
    if (channel.paused) channel.connection.pause?.();
    return channel;
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

  /** Sends one client message. Throws the end reason when the connection has ended. */
  send(message: ClientMessage): void {
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
    const parsed = parseRuntimeMessage(data);
    if (!parsed.ok) {
      const { code, message, field } = parsed.error;
      this.violation(code, `the runtime sent a malformed frame: ${message}`, field, data.slice(0, FRAME_EXCERPT));
      return;
    }
    this.queue.push(parsed.message);
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

  private onClose(code: number, reason: string): void {
    if (this.ended) return;
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
