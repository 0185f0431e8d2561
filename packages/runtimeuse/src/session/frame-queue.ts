import { type ChunkPool, sharedChunkPool } from "./chunk-pool.js";
import { writeJson } from "./json-bytes.js";

/** The first byte of a whole, unmasked text frame (FIN and opcode 1, RFC 6455 section 5.2). */
const TEXT_FRAME = 0x81;
/** Header bytes a frame of `size` payload bytes takes (server to client: never masked). */
function headerBytes(size: number): number {
  return size < 126 ? 2 : size <= 0xffff ? 4 : 10;
}

interface Chunk {
  readonly bytes: Buffer;
  /** Came from the pool, and goes back to it (once) when nothing reads it any more. */
  pooled: boolean;
  /** Bytes of whole frames written so far. */
  filled: number;
  /** Bytes handed out (by `take` or `shift`) so far. */
  taken: number;
  /** Frames written so far, and handed out so far. */
  frames: number;
  takenFrames: number;
  /** Runs handed out by `take` whose `written` has not been called yet. */
  unwritten: number;
  /** A payload view went out through `shift`, whose end nobody reports: never reused. */
  lent: boolean;
  /** No frame goes in any more: a newer chunk took over, or the queue let it go. */
  sealed: boolean;
}

/** Frames handed out at once by `take`: bytes to write to the socket as they are. */
export interface Run {
  /** Whole WebSocket frames, headers included, back to back. */
  readonly bytes: Buffer;
  readonly frames: number;
  /** To call once the socket has written `bytes` (or failed to): their chunk may be reused. */
  readonly written: () => void;
}

/**
 * Frames waiting for room in a socket, first in, first out, kept as whole
 * WebSocket text frames (header and UTF-8 payload) packed into a few 64 KiB
 * chunks. A handler that sends without awaiting can queue a hundred thousand
 * frames in one tick: held as that many JS strings and handed to `ws` one by
 * one, each would survive into the old generation with the objects a socket
 * write takes (and grow the young one) for the seconds the peer takes to read
 * them; packed here, each string dies young, what is held is little more
 * than the bytes themselves, outside the JS heap, and `take` hands them to
 * the socket a chunk per write.
 *
 * Chunks come from a `ChunkPool` and go back to it once sealed, wholly taken
 * and every run taken from them reported `written`: a chunk is never reused
 * while the socket may still read a view of it. The queue holds no chunk
 * while it is empty.
 */
export class FrameQueue {
  private chunks: Chunk[] = [];
  /** Index in `chunks` of the oldest chunk with frames left. */
  private head = 0;
  private queuedBytes = 0;
  private count = 0;

  constructor(private readonly pool: ChunkPool = sharedChunkPool) {}

  /** Bytes waiting, in all frames, headers included. */
  get bytes(): number {
    return this.queuedBytes;
  }

  get length(): number {
    return this.count;
  }

  /** Queues a text frame: its text, or its UTF-8 bytes (copied) when it was encoded already. */
  push(text: string | Buffer): void {
    const size = typeof text === "string" ? Buffer.byteLength(text) : text.length;
    const header = headerBytes(size);
    const chunk = this.chunkWithRoom(header + size);
    const bytes = chunk.bytes;
    let at = chunk.filled;
    bytes[at] = TEXT_FRAME;
    if (header === 2) bytes[at + 1] = size;
    else if (header === 4) {
      bytes[at + 1] = 126;
      bytes.writeUInt16BE(size, at + 2);
    } else {
      bytes[at + 1] = 127;
      bytes.writeUInt32BE(Math.floor(size / 2 ** 32), at + 2);
      bytes.writeUInt32BE(size >>> 0, at + 6);
    }
    at += header;
    at += typeof text === "string" ? bytes.write(text, at) : text.copy(bytes, at);
    chunk.filled = at;
    chunk.frames++;
    this.queuedBytes += header + size;
    this.count++;
  }

  /**
   * Queues a text frame of `message` as JSON, encoded straight into the
   * chunk (see `writeJson`): the same bytes as `push(JSON.stringify(message))`.
   */
  pushJson(message: object): void {
    const chunk = this.chunks.at(-1);
    if (chunk !== undefined) {
      // Room is left for a 4-byte header (a payload under 64 KiB); a short payload moves up to its 2-byte one.
      const start = chunk.filled;
      const end = writeJson(message, chunk.bytes, start + 4, Math.min(chunk.bytes.length, start + 4 + 0xffff));
      if (end >= 0) {
        const size = end - start - 4;
        const bytes = chunk.bytes;
        bytes[start] = TEXT_FRAME;
        if (size < 126) {
          bytes[start + 1] = size;
          bytes.copyWithin(start + 2, start + 4, end);
          chunk.filled = end - 2;
        } else {
          bytes[start + 1] = 126;
          bytes.writeUInt16BE(size, start + 2);
          chunk.filled = end;
        }
        chunk.frames++;
        this.queuedBytes += chunk.filled - start;
        this.count++;
        return;
      }
    }
    // No chunk yet, or not enough room left in it (or an unusual value): a new chunk, through the text.
    this.push(JSON.stringify(message));
  }

  /**
   * The oldest chunk's waiting frames, whole, as one view to write to the
   * socket; undefined when none waits. The caller must call its `written`.
   */
  take(): Run | undefined {
    const chunk = this.chunks[this.head];
    if (chunk === undefined || this.count === 0) return undefined;
    const frames = chunk.frames - chunk.takenFrames;
    const bytes = chunk.bytes.subarray(chunk.taken, chunk.filled);
    chunk.taken = chunk.filled;
    chunk.takenFrames = chunk.frames;
    chunk.unwritten++;
    this.taken(chunk, bytes.length, frames);
    let done = false;
    const written = () => {
      if (done) return;
      done = true;
      chunk.unwritten--;
      this.recycle(chunk);
    };
    return { bytes, frames, written };
  }

  /**
   * The oldest frame's payload (a view into its chunk, without the header),
   * or undefined when none waits: for a socket that frames it itself. The
   * chunk of a frame handed out this way is never reused.
   */
  shift(): Buffer | undefined {
    const chunk = this.chunks[this.head];
    if (chunk === undefined || this.count === 0) return undefined;
    const start = chunk.taken;
    const end = frameEnd(chunk.bytes, start);
    chunk.taken = end;
    chunk.takenFrames++;
    chunk.lent = true;
    this.taken(chunk, end - start, 1);
    return chunk.bytes.subarray(end - payloadBytes(chunk.bytes, start), end);
  }

  /** Lets go of every waiting frame; runs already taken keep their chunks until written. */
  clear(): void {
    for (let index = this.head; index < this.chunks.length; index++) {
      const chunk = this.chunks[index] as Chunk;
      chunk.taken = chunk.filled;
      chunk.sealed = true;
      this.recycle(chunk);
    }
    this.chunks = [];
    this.head = 0;
    this.queuedBytes = 0;
    this.count = 0;
  }

  private chunkWithRoom(size: number): Chunk {
    const tail = this.chunks.at(-1);
    if (tail !== undefined && tail.filled + size <= tail.bytes.length) return tail;
    if (tail !== undefined) {
      tail.sealed = true;
      this.recycle(tail);
    }
    const pooled = size <= this.pool.chunkBytes;
    const chunk: Chunk = {
      bytes: pooled ? this.pool.take() : Buffer.allocUnsafeSlow(size),
      pooled,
      filled: 0,
      taken: 0,
      frames: 0,
      takenFrames: 0,
      unwritten: 0,
      lent: false,
      sealed: false,
    };
    this.chunks.push(chunk);
    return chunk;
  }

  /** Bookkeeping after frames of the head chunk were handed out; a chunk with nothing left is let go. */
  private taken(chunk: Chunk, bytes: number, frames: number): void {
    this.queuedBytes -= bytes;
    this.count -= frames;
    if (chunk.taken < chunk.filled) return;
    // Wholly taken: the queue lets it go (so an empty queue holds no chunk); it goes back to the pool once written.
    chunk.sealed = true;
    this.chunks[this.head++] = undefined as unknown as Chunk;
    if (this.head === this.chunks.length) {
      this.chunks = [];
      this.head = 0;
    } else if (this.head >= 64 && this.head * 2 >= this.chunks.length) {
      this.chunks = this.chunks.slice(this.head);
      this.head = 0;
    }
    this.recycle(chunk);
  }

  private recycle(chunk: Chunk): void {
    if (chunk.sealed && chunk.pooled && !chunk.lent && chunk.unwritten === 0 && chunk.taken === chunk.filled) {
      // Given back once: a chunk in the pool is no longer in any queue, and nothing else refers to it.
      chunk.pooled = false;
      this.pool.give(chunk.bytes);
    }
  }
}

/** Payload bytes of the frame whose header starts at `at`. */
function payloadBytes(bytes: Buffer, at: number): number {
  const length = bytes[at + 1] as number;
  if (length < 126) return length;
  if (length === 126) return bytes.readUInt16BE(at + 2);
  return bytes.readUInt32BE(at + 2) * 2 ** 32 + bytes.readUInt32BE(at + 6);
}

/** Where the frame whose header starts at `at` ends. */
function frameEnd(bytes: Buffer, at: number): number {
  const size = payloadBytes(bytes, at);
  return at + headerBytes(size) + size;
}
