/**
 * Keeps the last `limit` bytes (UTF-8) of a text stream. The cut never splits
 * a character, so the kept text may be a few bytes shorter than the limit;
 * it is never longer.
 */
export class TailBuffer {
  private chunks: Array<{ text: string; bytes: number }> = [];
  private bytes = 0;
  private dropped = false;

  constructor(private readonly limit: number) {}

  push(text: string): void {
    if (text.length === 0) return;
    const bytes = Buffer.byteLength(text, "utf8");
    this.chunks.push({ text, bytes });
    this.bytes += bytes;
    // Only whole chunks are dropped here; the partial cut of the first chunk
    // waits for text(), so a long stream is not re-encoded chunk after chunk.
    // Memory stays below the limit plus one chunk.
    for (;;) {
      const first = this.chunks[0];
      if (first === undefined || this.bytes - first.bytes < this.limit) break;
      this.chunks.shift();
      this.bytes -= first.bytes;
      this.dropped = true;
    }
  }

  /** Whether the kept text lacks the start of the stream. */
  get truncated(): boolean {
    return this.dropped || this.bytes > this.limit;
  }

  /** Bytes the kept text will have (at most the limit). */
  get byteLength(): number {
    return Math.min(this.bytes, this.limit);
  }

  text(): string {
    const first = this.chunks[0];
    if (first !== undefined && this.bytes > this.limit) {
      const kept = dropLeadingBytes(first.text, this.bytes - this.limit);
      const keptBytes = Buffer.byteLength(kept, "utf8");
      this.bytes -= first.bytes - keptBytes;
      this.chunks[0] = { text: kept, bytes: keptBytes };
      this.dropped = true;
    }
    if (this.chunks.length > 1) {
      const joined = this.chunks.map((chunk) => chunk.text).join("");
      this.chunks = [{ text: joined, bytes: this.bytes }];
    }
    return this.chunks[0]?.text ?? "";
  }
}

/**
 * `text` without its first `count` bytes; when the cut falls inside a
 * character, that whole character goes too.
 */
function dropLeadingBytes(text: string, count: number): string {
  const buffer = Buffer.from(text, "utf8");
  let start = Math.min(count, buffer.length);
  // Continuation bytes look like 10xxxxxx: skip to the next character start.
  while (start < buffer.length && ((buffer[start] as number) & 0xc0) === 0x80) start++;
  return buffer.subarray(start).toString("utf8");
}
