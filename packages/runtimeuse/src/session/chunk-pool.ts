/** The size of a pooled chunk: what a frame queue packs its frames into. */
export const CHUNK_BYTES = 64 * 1024;

/**
 * Free chunks kept for reuse, all connections together (8 MiB): more than
 * one large burst of short frames needs at a time, so bursts after the first
 * one reuse its chunks instead of allocating new ones.
 */
export const DEFAULT_POOL_CHUNKS = 128;

/**
 * Buffers of `chunkBytes` handed out and taken back, so that frames queued
 * in one burst after another reuse the same memory. A chunk lives long
 * enough (the peer reads it) to reach the old generation, where a chunk
 * dropped instead of given back would stay allocated until the next full
 * garbage collection: bursts in a row would pile up their chunks.
 *
 * The pool trusts its callers: a chunk is given back only once nothing
 * still reads it (every view of it that went to a socket was written), and
 * only once.
 */
export class ChunkPool {
  private readonly free: Buffer[] = [];

  constructor(
    readonly chunkBytes: number = CHUNK_BYTES,
    readonly maxFreeChunks: number = DEFAULT_POOL_CHUNKS,
  ) {}

  /** Free chunks held for reuse. */
  get freeChunks(): number {
    return this.free.length;
  }

  /** A chunk of `chunkBytes`; its bytes are whatever it held before. */
  take(): Buffer {
    return this.free.pop() ?? Buffer.allocUnsafeSlow(this.chunkBytes);
  }

  /** Takes back a chunk from `take`; beyond `maxFreeChunks` it is left to the garbage collector. */
  give(chunk: Buffer): void {
    if (chunk.length === this.chunkBytes && this.free.length < this.maxFreeChunks) this.free.push(chunk);
  }
}

/** The pool every connection's frame queue shares. */
export const sharedChunkPool = new ChunkPool();
