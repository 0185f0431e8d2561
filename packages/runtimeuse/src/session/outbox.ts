import { type RuntimeMessage, TERMINAL_MESSAGE_TYPES } from "@runtimeuse/protocol";
import type { WebSocket } from "ws";
import type { LogSink } from "../logger.js";
import type { ReplayBuffer } from "./replay-buffer.js";

/** Above this many buffered outgoing bytes, producers (command output, handlers) wait. */
export const DEFAULT_SEND_HIGH_WATER_MARK = 1024 * 1024;
/** A peer that stops reading while more than this is queued for it is dropped. */
export const DEFAULT_MAX_BUFFERED_BYTES = 16 * 1024 * 1024;

/** Above this many bytes gathered in one tick, they are written without waiting for the tick to end. */
const GATHER_LIMIT_BYTES = 64 * 1024;

/** Messages after which nothing more is expected soon: gathered frames leave at once. */
const ENDS_A_BURST = new Set<string>([...TERMINAL_MESSAGE_TYPES, "end_session_confirm_message"]);

/**
 * The byte stream under a WebSocket, as far as batching needs it: Node's
 * `cork()`/`uncork()` (a `net.Socket` or `tls.TLSSocket`).
 */
export interface Corkable {
  cork(): void;
  uncork(): void;
}

export interface OutboxOptions {
  /** Default `DEFAULT_SEND_HIGH_WATER_MARK`. */
  highWaterMark?: number | undefined;
  /** Default `DEFAULT_MAX_BUFFERED_BYTES`. */
  maxBufferedBytes?: number | undefined;
  log: LogSink;
  connectionId?: string | undefined;
  /**
   * A resumable session's numbering and replay buffer: every frame is
   * numbered and kept there first, whether a socket is attached or not, and
   * producers are also held while it is `holding` (released by `release`).
   */
  replay?: ReplayBuffer | undefined;
}

const SENT: Promise<void> = Promise.resolve();

/** Resolves on the next turn of the event loop, so an awaited loop of sends still lets I/O and timers run. */
function nextTurn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/**
 * The one way frames leave a session: every runtime message is written here,
 * to whichever socket is attached, after the engine has decided and redacted
 * it. Uses only `ws`'s public API (`send`, `bufferedAmount`, `close`,
 * `terminate`); the optional `Corkable` is the socket the HTTP upgrade handed
 * over (`request.socket`), the same one `ws` writes to.
 *
 * Backpressure: `send` resolves once the socket's buffer is below the
 * high-water mark, so producers that await it go no faster than the peer
 * reads; a peer that lets more than `maxBufferedBytes` pile up is dropped.
 * Producers waiting when the socket goes away, and those that send while
 * it is closing, are released once it is detached, never left waiting.
 */
export class Outbox {
  private socket: WebSocket | undefined;
  private transport: Corkable | undefined;
  private readonly highWaterMark: number;
  private readonly maxBufferedBytes: number;
  /** Producers waiting for the socket to drain (or, while it closes, to be detached). */
  private readonly drainWaiters = new Set<() => void>();
  /** Bytes of the current tick being gathered into one write (see `gather`); undefined when not corked. */
  private gathering: { bytes: number } | undefined;
  private closedHere = false;

  constructor(private readonly options: OutboxOptions) {
    this.highWaterMark = options.highWaterMark ?? DEFAULT_SEND_HIGH_WATER_MARK;
    this.maxBufferedBytes = options.maxBufferedBytes ?? DEFAULT_MAX_BUFFERED_BYTES;
  }

  /**
   * Frames go to `socket` from now on; `transport`, when given, is corked to
   * batch them. `preface` (control frames, a replay) is written first, in order.
   */
  attach(socket: WebSocket, transport?: Corkable, preface: readonly string[] = []): void {
    this.flushGathered();
    this.socket = socket;
    this.transport = transport;
    this.closedHere = false;
    for (const text of preface) socket.send(text);
  }

  /** Writes a control frame of a resumable connection (never numbered nor kept); dropped while detached. */
  sendControl(text: string): void {
    const socket = this.socket;
    if (socket === undefined || socket.readyState !== socket.OPEN) return;
    this.gather(text.length);
    socket.send(text);
  }

  /** Releases every waiting producer (the replay buffer has room again, or the session ended). */
  release(): void {
    for (const release of [...this.drainWaiters]) release();
  }

  /** The attached socket was closed or dropped from here (`close`, `terminate`, a peer over the buffer cap). */
  get closedByRuntime(): boolean {
    return this.closedHere;
  }

  /** The socket is gone: gathered bytes are let go and every waiting producer is released. */
  detach(): void {
    this.flushGathered();
    this.socket = undefined;
    this.transport = undefined;
    for (const release of [...this.drainWaiters]) release();
  }

  /** Writes one frame; the promise resolves once the socket's buffer is below the high-water mark. */
  send(message: RuntimeMessage): Promise<void> {
    const socket = this.socket;
    const replay = this.options.replay;
    const numbered = replay?.record(message);
    if (socket === undefined) {
      if (replay === undefined) return SENT;
      // Detached: the frame waits in the replay buffer; producers go on until it is half full.
      return replay.holding ? this.holdProducer() : nextTurn();
    }
    if (socket.readyState !== socket.OPEN) return this.holdProducer();
    if (socket.bufferedAmount >= this.maxBufferedBytes) {
      // Producers that ignore backpressure must not grow memory without bound.
      this.options.log.write("warn", "peer is not reading; dropping the connection", {
        connection: this.options.connectionId,
        buffered_bytes: socket.bufferedAmount,
        limit: this.maxBufferedBytes,
      });
      this.closedHere = true;
      socket.terminate();
      return this.holdProducer();
    }
    const text = numbered ?? JSON.stringify(message);
    this.gather(text.length);
    if (socket.bufferedAmount + text.length <= this.highWaterMark && !replay?.holding) {
      socket.send(text);
      const gathering = this.gathering;
      if (gathering && (gathering.bytes >= GATHER_LIMIT_BYTES || ENDS_A_BURST.has(message.message_type))) {
        this.flushGathered();
      }
      return SENT;
    }
    // Held for the socket to drain or, while the replay buffer is half full, for the client's ack.
    const waiting = replay?.holding
      ? this.holdProducer((_release) => socket.send(text))
      : this.holdProducer((release) => socket.send(text, release));
    // The producer now waits for the socket: let the bytes go at once.
    this.flushGathered();
    return waiting;
  }

  /**
   * A promise for a producer to wait on, released through `start`'s callback
   * or, at the latest, by `detach`. Without `start` (the socket is closing) it
   * waits for the close to be handled, which aborts the producer's request:
   * a loop of awaited sends must not spin on resolved promises that never let
   * the close event run.
   */
  private holdProducer(start?: (release: () => void) => void): Promise<void> {
    return new Promise<void>((resolve) => {
      const release = () => {
        this.drainWaiters.delete(release);
        resolve();
      };
      this.drainWaiters.add(release);
      start?.(release);
    });
  }

  /** Closes the socket after the frames already sent (a close frame with `code`). */
  close(code: number, reason: string): void {
    this.flushGathered();
    const socket = this.socket;
    if (socket !== undefined && socket.readyState === socket.OPEN) {
      this.closedHere = true;
      socket.close(code, reason);
    }
  }

  /** Drops the connection at once, without a close frame. */
  terminate(): void {
    this.flushGathered();
    if (this.socket === undefined) return;
    this.closedHere = true;
    this.socket.terminate();
  }

  /**
   * Frames sent in one tick (an assistant message and the result right after
   * it, a burst of streamed messages) leave in one write instead of one each:
   * fewer syscalls, and the client wakes once. The transport is uncorked on
   * `process.nextTick` (as Node's http does for headers and body), right after
   * a terminal (the client is waiting for it; the runtime's own bookkeeping
   * after it need not delay it), or as soon as `GATHER_LIMIT_BYTES` are
   * gathered, so a frame never waits past the end of the current tick and a
   * long burst still streams. Frame order and backpressure are unchanged:
   * corked bytes count in `bufferedAmount`.
   */
  private gather(bytes: number): void {
    if (this.gathering === undefined) {
      const transport = this.transport;
      if (transport === undefined) return;
      transport.cork();
      const gathering = { bytes: 0 };
      this.gathering = gathering;
      process.nextTick(() => {
        if (this.gathering === gathering) this.flushGathered();
      });
    }
    this.gathering.bytes += bytes;
  }

  private flushGathered(): void {
    if (this.gathering === undefined) return;
    this.gathering = undefined;
    this.transport?.uncork();
  }
}

/** The corkable byte stream behind an HTTP upgrade request, if it is one. */
export function corkableOf(stream: unknown): Corkable | undefined {
  const candidate = stream as Partial<Corkable> | null | undefined;
  return typeof candidate?.cork === "function" && typeof candidate.uncork === "function"
    ? (candidate as Corkable)
    : undefined;
}
