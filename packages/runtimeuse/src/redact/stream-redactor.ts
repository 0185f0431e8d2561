import { normalizeSecrets, replaceRanges, secretRanges } from "./redact.js";

/**
 * Redacts a stream of text chunks, catching secrets split across chunks.
 *
 * Contract: the concatenation of everything `push` and `end` return equals
 * `redactText(whole input)`, except that it may hide more where secrets
 * overlap at a chunk edge, never less. Only a tail that could still be the
 * start of a secret is held back; with no secrets nothing is.
 */
export class StreamRedactor {
  private readonly secrets: string[];
  private pending = "";

  constructor(secrets: Iterable<string>) {
    this.secrets = normalizeSecrets(secrets);
  }

  push(chunk: string): string {
    if (this.secrets.length === 0) return chunk;
    const text = this.pending + chunk;
    const ranges = secretRanges(text, this.secrets);
    let cut = this.heldTailStart(text);
    // A complete secret that straddles the cut is held back whole, so that a
    // longer secret continuing past the end of this chunk is still caught.
    for (const [start, end] of ranges) {
      if (start < cut && end > cut) {
        cut = start;
        break;
      }
    }
    this.pending = text.slice(cut);
    const emitted = ranges.filter(([, end]) => end <= cut);
    return replaceRanges(text.slice(0, cut), emitted);
  }

  /** Flushes what was held back. */
  end(): string {
    const text = this.pending;
    this.pending = "";
    if (text.length === 0) return "";
    return replaceRanges(text, secretRanges(text, this.secrets));
  }

  /** Start of the longest suffix of `text` that is a proper prefix of some secret. */
  private heldTailStart(text: string): number {
    let best = text.length;
    for (const secret of this.secrets) {
      const longest = Math.min(secret.length - 1, text.length);
      for (let len = longest; len > 0; len--) {
        const start = text.length - len;
        if (start >= best) break;
        if (text.startsWith(secret.slice(0, len), start)) {
          best = start;
          break;
        }
      }
    }
    return best;
  }
}
