import type { RuntimeMessage } from "@runtimeuse/protocol";
import { DEFAULT_REPLAY_BUFFER_BYTES } from "../session-defaults.js";
import { writeJson } from "./json-bytes.js";

/**
 * Frames are written back to back into blocks of this size (a larger frame
 * gets a block of its own): what a session keeps beyond its unacknowledged
 * bytes is at most about one block.
 */
const BLOCK_BYTES = 16 * 1024;

/** `,"seq":` and the digits of the largest safe integer and `}`: what the envelope adds at most. */
const ENVELOPE_BYTES = 24;
const SEQ_FIELD = Buffer.from('"seq":', "latin1");
const COMMA = 0x2c;
const CLOSE_BRACE = 0x7d;

/** Where the newest frame of `block` ends. */
function endOf(block: Block): number {
  return block.ends.length === 0 ? 0 : (block.ends[block.ends.length - 1] as number);
}

/** Writes the decimal digits of `value` (a positive whole number) at `offset`; returns where they end. */
function writeDigits(bytes: Buffer, offset: number, value: number): number {
  let digits = 1;
  for (let rest = value; rest >= 10; rest = Math.floor(rest / 10)) digits++;
  let rest = value;
  for (let at = offset + digits - 1; at >= offset; at--) {
    bytes[at] = 0x30 + (rest % 10);
    rest = Math.floor(rest / 10);
  }
  return offset + digits;
}

/** A frame as it goes on the wire: the UTF-8 text of the message with its envelope `seq`. */
export type Frame = Buffer;

/** Frames after a client's `last_seq`, or the news that some of them are gone. */
export type Replay = { ok: true; frames: Frame[] } | { ok: false; droppedThrough: number };

/** Consecutive frames, back to back: frame `firstSeq + i` ends at `ends[i]`. */
interface Block {
  readonly bytes: Buffer;
  readonly firstSeq: number;
  readonly ends: number[];
}

/**
 * The numbering and replay buffer of one resumable session, with no I/O.
 * Every frame the session sends is numbered here (1, 2, 3, ...), encoded
 * once with its `seq`, and kept until the client acknowledges it. The bytes
 * returned by `record` are the ones kept (never written to again), so the
 * socket sends them as they are.
 *
 * Frames live in blocks outside the JavaScript heap, a few numbers per
 * frame: keeping many frames neither feeds the garbage collector nor costs
 * more memory than their bytes; acknowledged frames are let go a block at a time.
 *
 * Bounds: producers that wait are held once `holding` (half the limit in
 * use), so what can be paused (command output) stays well under the limit;
 * a producer that does not wait can still push past `limitBytes`, and then
 * the oldest frames are dropped and remembered as a gap: a resume that needs
 * them is refused, never answered with a silently incomplete replay.
 */
export class ReplayBuffer {
  private readonly blocks: Block[] = [];
  /** Index of the oldest kept block in `blocks` (dropping from the front is amortised). */
  private head = 0;
  private nextSeq = 1;
  /** The seq of the oldest frame kept (`nextSeq` when none is). */
  private firstKept = 1;
  private bytesKept = 0;
  /** Frames up to this seq were dropped before the client acknowledged them. */
  private gapThrough = 0;
  /** Everything up to this seq is acknowledged by the client. */
  private ackedThrough = 0;

  constructor(readonly limitBytes: number = DEFAULT_REPLAY_BUFFER_BYTES) {
    if (!Number.isInteger(limitBytes) || limitBytes <= 0) {
      throw new Error(`replay buffer limit: expected a positive whole number of bytes, received ${limitBytes}`);
    }
  }

  /** The seq of the last frame numbered (0 before the first). */
  get lastSeq(): number {
    return this.nextSeq - 1;
  }

  /** Unacknowledged bytes kept. */
  get bytes(): number {
    return this.bytesKept;
  }

  /** Producers that can wait should: half the buffer is in use. */
  get holding(): boolean {
    return this.bytesKept * 2 >= this.limitBytes;
  }

  /** Numbers `message`, keeps it, and returns its bytes with the envelope `seq`. */
  record(message: RuntimeMessage): Frame {
    const seq = this.nextSeq++;
    const newest = this.newestBlock();
    if (newest !== undefined) {
      // Encoded straight into the block when it fits (no string per message); else through the text, below.
      const start = endOf(newest);
      const end = writeJson(message, newest.bytes, start, newest.bytes.length - ENVELOPE_BYTES);
      if (end >= 0) return this.sealFrame(newest, start, end, seq);
    }
    const json = JSON.stringify(message);
    // UTF-8 takes at most 3 bytes per UTF-16 unit; the exact count is taken only when that bound does not fit.
    let block = this.newestBlock();
    let start = block === undefined ? 0 : endOf(block);
    const room = block === undefined ? 0 : block.bytes.length - start;
    if (block === undefined || room < json.length * 3 + ENVELOPE_BYTES) {
      if (block === undefined || room < Buffer.byteLength(json) + ENVELOPE_BYTES) {
        block = this.newBlock(seq, Buffer.byteLength(json) + ENVELOPE_BYTES);
        start = 0;
      }
    }
    return this.sealFrame(block, start, start + block.bytes.write(json, start, "utf8"), seq);
  }

  /** Adds the envelope `seq` to the message written at `start..end` of `block` and keeps the frame. */
  private sealFrame(block: Block, start: number, written: number, seq: number): Frame {
    const bytes = block.bytes;
    // A message is always a JSON object: the envelope field replaces its closing brace.
    let end = written - 1;
    if (end - start > 1) bytes[end++] = COMMA;
    for (let i = 0; i < SEQ_FIELD.length; i++) bytes[end++] = SEQ_FIELD[i] as number;
    end = writeDigits(bytes, end, seq);
    bytes[end++] = CLOSE_BRACE;
    block.ends.push(end);
    this.bytesKept += end - start;
    while (this.bytesKept > this.limitBytes && this.firstKept < seq) {
      this.gapThrough = this.firstKept;
      this.dropThrough(this.firstKept);
    }
    return bytes.subarray(start, end);
  }

  /** The client has every frame up to `seq`; they are let go. Returns true when bytes were freed. */
  ack(seq: number): boolean {
    if (seq <= this.ackedThrough) return false;
    this.ackedThrough = Math.min(seq, this.lastSeq);
    return this.dropThrough(this.ackedThrough);
  }

  /**
   * The frames after `lastSeq` for a resume, in order, or the gap when some
   * of them are no longer kept: dropped by an overflow, or let go after an
   * ack or an earlier resume that claimed them (a client that then asks for
   * them again gets the gap, never a stream with a hole). A `lastSeq` beyond
   * what was sent counts as all.
   */
  framesAfter(lastSeq: number): Replay {
    if (lastSeq < this.gapThrough) return { ok: false, droppedThrough: this.gapThrough };
    if (lastSeq < this.lastSeq && lastSeq + 1 < this.firstKept)
      return { ok: false, droppedThrough: this.firstKept - 1 };
    this.ack(lastSeq);
    const frames: Frame[] = [];
    let seq = this.firstKept;
    for (let index = this.head; index < this.blocks.length; index++) {
      const block = this.blocks[index] as Block;
      for (let i = seq - block.firstSeq; i < block.ends.length; i++, seq++) {
        const start = i === 0 ? 0 : (block.ends[i - 1] as number);
        if (seq > lastSeq) frames.push(block.bytes.subarray(start, block.ends[i]));
      }
    }
    return { ok: true, frames };
  }

  private newestBlock(): Block | undefined {
    return this.blocks.length > this.head ? this.blocks[this.blocks.length - 1] : undefined;
  }

  private newBlock(firstSeq: number, size: number): Block {
    const block: Block = { bytes: Buffer.allocUnsafeSlow(Math.max(BLOCK_BYTES, size)), firstSeq, ends: [] };
    this.blocks.push(block);
    return block;
  }

  /** Lets go of every kept frame up to `seq`, whole blocks at a time. Returns true when bytes were freed. */
  private dropThrough(seq: number): boolean {
    const through = Math.min(seq, this.lastSeq);
    if (through < this.firstKept) return false;
    while (this.firstKept <= through) {
      const block = this.blocks[this.head] as Block;
      const first = this.firstKept - block.firstSeq;
      const blockLast = block.firstSeq + block.ends.length - 1;
      const upTo = Math.min(through, blockLast);
      const start = first === 0 ? 0 : (block.ends[first - 1] as number);
      this.bytesKept -= (block.ends[upTo - block.firstSeq] as number) - start;
      this.firstKept = upTo + 1;
      if (upTo === blockLast) {
        this.blocks[this.head] = undefined as unknown as Block;
        this.head++;
      }
    }
    if (this.head === this.blocks.length) {
      this.blocks.length = 0;
      this.head = 0;
    } else if (this.head > 64 && this.head * 2 > this.blocks.length) {
      this.blocks.splice(0, this.head);
      this.head = 0;
    }
    return true;
  }
}
