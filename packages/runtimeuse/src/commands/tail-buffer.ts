/**
 * Keeps the last `limit` bytes (UTF-8) of a text stream. The cut never splits
 * a character, so the kept text may be a few bytes shorter than the limit;
 * it is never longer.
 */
export class TailBuffer {
  private chunks: Array<{ text: string; bytes: number }> = [];
  private bytes = 0;
  /** Whether anything was dropped from the front. */
  truncated = false;

  constructor(private readonly limit: number) {}

  push(text: string): void {
    if (text.length === 0) return;
    const bytes = Buffer.byteLength(text, "utf8");
    this.chunks.push({ text, bytes });
    this.bytes += bytes;
    while (this.bytes > this.limit) {
      const first = this.chunks[0];
      if (first === undefined) break;
      this.truncated = true;
      const excess = this.bytes - this.limit;
      if (first.bytes <= excess) {
        this.chunks.shift();
        this.bytes -= first.bytes;
        continue;
      }
      const kept = dropLeadingBytes(first.text, excess);
      const keptBytes = Buffer.byteLength(kept, "utf8");
      this.bytes -= first.bytes - keptBytes;
      this.chunks[0] = { text: kept, bytes: keptBytes };
    }
  }

  get byteLength(): number {
    return this.bytes;
  }

  text(): string {
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
