/** Frames are packed into chunks of this many bytes (a larger frame gets a chunk of its own). */
const CHUNK_BYTES = 64 * 1024;

interface Chunk {
  readonly bytes: Buffer;
  /** Where each frame packed in this chunk ends, in order. */
  readonly ends: number[];
  /** Bytes written so far. */
  filled: number;
  /** Frames of `ends` already taken by `shift`. */
  taken: number;
}

/**
 * Frames waiting for room in a socket, first in, first out, kept as their
 * UTF-8 bytes packed into a few large buffers. A handler that sends without
 * awaiting can queue a hundred thousand frames in one tick: held as that many
 * JS strings, they would all survive into the old generation (and grow the
 * young one) for the seconds it takes the peer to read them; packed here,
 * each string dies young and what is held is little more than the bytes
 * themselves, outside the JS heap.
 */
export class FrameQueue {
  private chunks: Chunk[] = [];
  /** Index in `chunks` of the oldest chunk with frames left. */
  private head = 0;
  private queuedBytes = 0;
  private count = 0;

  /** Bytes waiting, in all frames. */
  get bytes(): number {
    return this.queuedBytes;
  }

  get length(): number {
    return this.count;
  }

  push(text: string): void {
    const size = Buffer.byteLength(text);
    let chunk = this.chunks.at(-1);
    if (chunk === undefined || chunk.filled + size > chunk.bytes.length) {
      chunk = { bytes: Buffer.allocUnsafe(Math.max(CHUNK_BYTES, size)), ends: [], filled: 0, taken: 0 };
      this.chunks.push(chunk);
    }
    chunk.filled += chunk.bytes.write(text, chunk.filled);
    chunk.ends.push(chunk.filled);
    this.queuedBytes += size;
    this.count++;
  }

  /** The oldest frame's bytes (a view into its chunk), or undefined when none waits. */
  shift(): Buffer | undefined {
    const chunk = this.chunks[this.head];
    if (chunk === undefined || this.count === 0) return undefined;
    const start = chunk.taken === 0 ? 0 : (chunk.ends[chunk.taken - 1] as number);
    const end = chunk.ends[chunk.taken++] as number;
    this.queuedBytes -= end - start;
    this.count--;
    if (chunk.taken === chunk.ends.length) {
      // The chunk is let go; a frame handed to the socket keeps its own view alive while it needs it.
      this.chunks[this.head++] = undefined as unknown as Chunk;
      if (this.head === this.chunks.length) this.clear();
      else if (this.head >= 64 && this.head * 2 >= this.chunks.length) {
        this.chunks = this.chunks.slice(this.head);
        this.head = 0;
      }
    }
    return chunk.bytes.subarray(start, end);
  }

  clear(): void {
    this.chunks = [];
    this.head = 0;
    this.queuedBytes = 0;
    this.count = 0;
  }
}
