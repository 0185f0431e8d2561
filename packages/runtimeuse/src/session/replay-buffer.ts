import type { RuntimeMessage } from "@runtimeuse/protocol";

/** Unacknowledged bytes a resumable session keeps for a replay. */
export const DEFAULT_REPLAY_BUFFER_BYTES = 64 * 1024 * 1024;

interface Entry {
  seq: number;
  text: string;
}

/** Frames after a client's `last_seq`, or the news that some of them are gone. */
export type Replay = { ok: true; frames: string[] } | { ok: false; droppedThrough: number };

/**
 * The numbering and replay buffer of one resumable session, with no I/O.
 * Every frame the session sends is numbered here (1, 2, 3, ...), serialised
 * with its `seq`, and kept until the client acknowledges it.
 *
 * Bounds: producers that wait are held once `holding` (half the limit in
 * use), so what can be paused (command output) stays well under the limit;
 * a producer that does not wait can still push past `limitBytes`, and then
 * the oldest frames are dropped and remembered as a gap: a resume that needs
 * them is refused, never answered with a silently incomplete replay.
 */
export class ReplayBuffer {
  private readonly entries: Entry[] = [];
  /** Index of the oldest kept entry in `entries` (dropping from the front is amortised). */
  private head = 0;
  private nextSeq = 1;
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

  /** Numbers `message`, keeps it, and returns its text with the envelope `seq`. */
  record(message: RuntimeMessage): string {
    const seq = this.nextSeq++;
    const json = JSON.stringify(message);
    // A message is always a JSON object: the envelope field goes before its closing brace.
    const text = `${json.slice(0, -1)}${json.length > 2 ? "," : ""}"seq":${seq}}`;
    this.entries.push({ seq, text });
    this.bytesKept += text.length;
    while (this.bytesKept > this.limitBytes && this.size > 1) this.dropOldest();
    return text;
  }

  /** The client has every frame up to `seq`; they are let go. Returns true when bytes were freed. */
  ack(seq: number): boolean {
    if (seq <= this.ackedThrough) return false;
    this.ackedThrough = Math.min(seq, this.lastSeq);
    let freed = false;
    while (this.size > 0 && (this.entries[this.head] as Entry).seq <= this.ackedThrough) {
      this.bytesKept -= (this.entries[this.head] as Entry).text.length;
      this.entries[this.head] = undefined as unknown as Entry;
      this.head++;
      freed = true;
    }
    this.compact();
    return freed;
  }

  /**
   * The frames after `lastSeq` for a resume, in order, or the gap when some
   * of them were dropped. A `lastSeq` beyond what was sent counts as all.
   */
  framesAfter(lastSeq: number): Replay {
    if (lastSeq < this.gapThrough) return { ok: false, droppedThrough: this.gapThrough };
    this.ack(lastSeq);
    const frames: string[] = [];
    for (let index = this.head; index < this.entries.length; index++) {
      const entry = this.entries[index] as Entry;
      if (entry.seq > lastSeq) frames.push(entry.text);
    }
    return { ok: true, frames };
  }

  private get size(): number {
    return this.entries.length - this.head;
  }

  private dropOldest(): void {
    const entry = this.entries[this.head] as Entry;
    this.bytesKept -= entry.text.length;
    this.gapThrough = entry.seq;
    this.entries[this.head] = undefined as unknown as Entry;
    this.head++;
    this.compact();
  }

  private compact(): void {
    if (this.head > 1024 && this.head * 2 > this.entries.length) {
      this.entries.splice(0, this.head);
      this.head = 0;
    }
  }
}
