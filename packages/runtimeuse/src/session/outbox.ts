import { type RuntimeMessage, TERMINAL_MESSAGE_TYPES } from "@runtimeuse/protocol";
import type { WebSocket } from "ws";
import type { LogSink } from "../logger.js";
import { DEFAULT_MAX_BUFFERED_BYTES, DEFAULT_SEND_HIGH_WATER_MARK } from "../session-defaults.js";
import { FrameQueue } from "./frame-queue.js";
import type { Frame, ReplayBuffer } from "./replay-buffer.js";

/** Above this many bytes gathered in one tick, they are written without waiting for the tick to end. */
const GATHER_LIMIT_BYTES = 64 * 1024;

/**
 * At most this many frames are in the socket's buffer at a time: like the
 * high-water mark, but counting frames. `ws` and the socket hold a few
 * objects per frame until the kernel takes it; a megabyte of short frames in
 * flight would be tens of thousands of them, kept long enough (the peer reads
 * slowly) to be promoted to the old generation.
 */
const MAX_FRAMES_IN_FLIGHT = 1024;

/** Messages after which nothing more is expected soon: gathered frames leave at once. */
const ENDS_A_BURST = new Set<string>([...TERMINAL_MESSAGE_TYPES, "end_session_confirm_message"]);

/**
 * The byte stream under a WebSocket, as far as batching needs it: Node's
 * `cork()`/`uncork()` and `write()` (a `net.Socket` or `tls.TLSSocket`). A
 * write's callback comes once the stream is done with its bytes.
 */
export interface Corkable {
  cork(): void;
  uncork(): void;
  write(bytes: Uint8Array, callback: (error?: Error | null) => void): boolean;
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
/** `ws` send options for a frame held as bytes (queued, or numbered): it is JSON text, sent as a text frame. */
const AS_TEXT = { binary: false } as const;

/** Resolves on the next turn of the event loop, so an awaited loop of sends still lets I/O and timers run. */
function nextTurn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/**
 * The one way frames leave a session: every runtime message is written here,
 * to whichever socket is attached, after the engine has decided and redacted
 * it. Uses only `ws`'s public API (`send` and its callback, `bufferedAmount`,
 * `extensions`, `close`, `terminate`); the optional `Corkable` is the socket
 * the HTTP upgrade handed over (`request.socket`), the same one `ws` writes to.
 *
 * Backpressure: while the socket holds less than the high-water mark (and
 * fewer than `MAX_FRAMES_IN_FLIGHT` frames), a frame goes to it at once and
 * `send` resolves at once. Past that, frames wait here, in order, as bytes
 * (`FrameQueue`: a handler that does not await its sends piles up bytes in
 * pooled chunks, not strings and socket write requests), and every producer
 * waits on one shared promise, released once the waiting frames are all
 * handed to the socket and it has room again: producers that await `send` go
 * no faster than the peer reads. Waiting frames are kept as whole WebSocket
 * frames and, when the connection has no extension, written to the
 * `Corkable` a chunk at a time (otherwise handed to `ws` one by one). A peer
 * that lets more than `maxBufferedBytes` pile up (in the socket and here) is
 * dropped. Producers waiting when the socket goes away, and those that send
 * while it is closing, are released once it is detached, never left waiting.
 */
export class Outbox {
  private socket: WebSocket | undefined;
  private transport: Corkable | undefined;
  /**
   * `transport` when waiting frames may be written to it directly, whole
   * chunks of ready-made frames at a time: the socket negotiated no
   * extension, so `ws` writes every frame it is given at once, in order, and
   * a frame written beside it lands between two of its frames.
   */
  private direct: Corkable | undefined;
  private readonly highWaterMark: number;
  private readonly maxBufferedBytes: number;
  /** Frames waiting for room in the socket, oldest first. */
  private readonly waiting = new FrameQueue();
  /** A frame handed to the socket carries `written` as its callback: the socket is over the mark. */
  private full = false;
  /** Frames handed to the socket since its buffer was last seen empty (see `MAX_FRAMES_IN_FLIGHT`). */
  private framesInFlight = 0;
  /** What every held-back producer waits on (see `room`); undefined when nobody waits. */
  private roomWaiters: { promise: Promise<void>; release: () => void } | undefined;
  /** A `close` asked for while frames were still waiting: done once they are all handed over. */
  private closeAfterWaiting: { code: number; reason: string } | undefined;
  /** Bytes of the current tick being gathered into one write (see `gather`); -1 when not corked. */
  private gatheredBytes = -1;
  /** Counts gatherings, so that a tick's flush leaves a later gathering alone. */
  private gatherings = 0;
  /** Flushes gathering number `which` if it is still the current one (one function for every tick). */
  private readonly flushAtTickEnd = (which: number) => {
    if (this.gatheredBytes >= 0 && this.gatherings === which) this.flushGathered();
  };
  private closedHere = false;
  /** The socket wrote the frame that went over the mark: hand over what waits. */
  private readonly written = () => {
    this.framesInFlight = 0;
    this.handOver();
  };

  constructor(private readonly options: OutboxOptions) {
    this.highWaterMark = options.highWaterMark ?? DEFAULT_SEND_HIGH_WATER_MARK;
    this.maxBufferedBytes = options.maxBufferedBytes ?? DEFAULT_MAX_BUFFERED_BYTES;
  }

  /**
   * Frames go to `socket` from now on; `transport`, when given, is corked to
   * batch them. `preface` (control frames, a replay) is written first, in
   * order, gathered into as few writes as the transport allows.
   */
  attach(socket: WebSocket, transport?: Corkable, preface: readonly (string | Frame)[] = []): void {
    this.flushGathered();
    this.socket = socket;
    this.transport = transport;
    this.direct = socket.extensions === "" ? transport : undefined;
    this.closedHere = false;
    this.full = false;
    this.framesInFlight = 0;
    if (preface.length === 0) return;
    transport?.cork();
    for (const frame of preface) socket.send(frame, AS_TEXT);
    transport?.uncork();
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
    this.releaseRoom();
  }

  /** The attached socket was closed or dropped from here (`close`, `terminate`, a peer over the buffer cap). */
  get closedByRuntime(): boolean {
    return this.closedHere;
  }

  /** The socket is gone: gathered and waiting frames are let go and every waiting producer is released. */
  detach(): void {
    this.flushGathered();
    this.socket = undefined;
    this.transport = undefined;
    this.direct = undefined;
    this.dropWaiting();
    this.releaseRoom();
  }

  /** Writes one frame; the promise resolves once the socket has room (see the class comment). */
  send(message: RuntimeMessage): Promise<void> {
    const socket = this.socket;
    const replay = this.options.replay;
    const numbered = replay?.record(message);
    if (socket === undefined) {
      if (replay === undefined) return SENT;
      // Detached: the frame waits in the replay buffer; producers go on until it is half full.
      return replay.holding ? this.room() : nextTurn();
    }
    if (socket.readyState !== socket.OPEN) return this.room();
    // Read once: nothing below writes to the socket before the frame is handed over.
    const buffered = socket.bufferedAmount;
    if (buffered + this.waiting.bytes >= this.maxBufferedBytes) {
      // Producers that ignore backpressure must not grow memory without bound.
      this.options.log.write("warn", "peer is not reading; dropping the connection", {
        connection: this.options.connectionId,
        buffered_bytes: buffered + this.waiting.bytes,
        limit: this.maxBufferedBytes,
      });
      this.closedHere = true;
      this.dropWaiting();
      socket.terminate();
      return this.room();
    }
    if (buffered === 0) this.framesInFlight = 0;
    if (this.full || this.framesInFlight >= MAX_FRAMES_IN_FLIGHT - 1) {
      // Behind frames that wait: encoded straight into the queue, without a string of its own.
      if (numbered !== undefined) this.waiting.push(numbered);
      else this.waiting.pushJson(message);
      if (!this.full) this.handOver();
      return this.room();
    }
    const text = numbered ?? JSON.stringify(message);
    if (buffered + text.length <= this.highWaterMark) {
      this.framesInFlight++;
      this.gather(text.length);
      // A string goes as a text frame by default; bytes (a numbered frame) must say so.
      if (typeof text === "string") socket.send(text);
      else socket.send(text, AS_TEXT);
      if (
        this.gatheredBytes >= 0 &&
        (this.gatheredBytes >= GATHER_LIMIT_BYTES || ENDS_A_BURST.has(message.message_type))
      ) {
        this.flushGathered();
      }
      // While the replay buffer is half full, producers also wait for the client's ack (`release`).
      return replay?.holding ? this.room() : SENT;
    }
    this.waiting.push(text);
    if (!this.full) this.handOver();
    return this.room();
  }

  /**
   * Hands waiting frames to the socket, oldest first, until one takes it
   * over the mark (or past `MAX_FRAMES_IN_FLIGHT`): that one carries
   * `written`, which calls this again once the socket has written it. When nothing waits and the socket is below the
   * mark, held-back producers are released (and a deferred close is done).
   * A frame is never split from its order: while one waits, new ones wait too.
   */
  private handOver(): void {
    this.full = false;
    const socket = this.socket;
    if (socket === undefined || socket.readyState !== socket.OPEN) return;
    const direct = this.direct;
    if (direct !== undefined) {
      for (let run = this.waiting.take(); run !== undefined; run = this.waiting.take()) {
        this.gather(run.bytes.length);
        if (
          ++this.framesInFlight >= MAX_FRAMES_IN_FLIGHT ||
          socket.bufferedAmount + run.bytes.length > this.highWaterMark
        ) {
          const { written } = run;
          direct.write(run.bytes, () => {
            written();
            this.written();
          });
          this.full = true;
          break;
        }
        direct.write(run.bytes, run.written);
      }
    } else {
      for (let frame = this.waiting.shift(); frame !== undefined; frame = this.waiting.shift()) {
        this.gather(frame.length);
        if (
          ++this.framesInFlight >= MAX_FRAMES_IN_FLIGHT ||
          socket.bufferedAmount + frame.length > this.highWaterMark
        ) {
          socket.send(frame, AS_TEXT, this.written);
          this.full = true;
          break;
        }
        socket.send(frame, AS_TEXT);
      }
    }
    // The bytes handed over go now: producers wait for them, or nothing more comes this tick.
    this.flushGathered();
    if (this.full) return;
    const close = this.closeAfterWaiting;
    this.closeAfterWaiting = undefined;
    if (close !== undefined) socket.close(close.code, close.reason);
    this.releaseRoom();
  }

  /**
   * The promise held-back producers wait on: one for all of them, released
   * by `handOver` or, at the latest, by `detach`. While the socket is
   * closing, only `detach` releases it, which comes with the close that
   * aborts the producer's request: a loop of awaited sends must not spin on
   * resolved promises that never let the close event run.
   */
  private room(): Promise<void> {
    if (this.roomWaiters === undefined) {
      let release!: () => void;
      const promise = new Promise<void>((resolve) => {
        release = resolve;
      });
      this.roomWaiters = { promise, release };
    }
    return this.roomWaiters.promise;
  }

  private releaseRoom(): void {
    const waiters = this.roomWaiters;
    this.roomWaiters = undefined;
    waiters?.release();
  }

  private dropWaiting(): void {
    this.waiting.clear();
    this.closeAfterWaiting = undefined;
  }

  /** Closes the socket after the frames already sent, waiting ones included (a close frame with `code`). */
  close(code: number, reason: string): void {
    this.flushGathered();
    const socket = this.socket;
    if (socket !== undefined && socket.readyState === socket.OPEN) {
      this.closedHere = true;
      if (this.waiting.length > 0) this.closeAfterWaiting = { code, reason };
      else socket.close(code, reason);
    }
  }

  /** Drops the connection at once, without a close frame; waiting frames are let go. */
  terminate(): void {
    this.flushGathered();
    this.dropWaiting();
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
    if (this.gatheredBytes < 0) {
      const transport = this.transport;
      if (transport === undefined) return;
      transport.cork();
      this.gatheredBytes = 0;
      process.nextTick(this.flushAtTickEnd, ++this.gatherings);
    }
    this.gatheredBytes += bytes;
  }

  private flushGathered(): void {
    if (this.gatheredBytes < 0) return;
    this.gatheredBytes = -1;
    this.transport?.uncork();
  }
}

/** The corkable byte stream behind an HTTP upgrade request, if it is one. */
export function corkableOf(stream: unknown): Corkable | undefined {
  const candidate = stream as Partial<Corkable> | null | undefined;
  return typeof candidate?.cork === "function" &&
    typeof candidate.uncork === "function" &&
    typeof candidate.write === "function"
    ? (candidate as Corkable)
    : undefined;
}
