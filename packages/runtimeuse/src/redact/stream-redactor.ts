import { normalizeSecrets, replaceRanges, secretRanges } from "./redact.js";

/** Below this many held-back characters, a complete secret at the edge is held whole. */
const MIN_HOLD_LIMIT = 4096;

/**
 * Redacts a stream of text chunks, catching secrets split across chunks.
 *
 * Contract: no secret ever appears in the concatenation of everything `push`
 * and `end` return. Where secrets do not overlap each other, that
 * concatenation equals `redactText(whole input)`; where they overlap at a
 * chunk edge it may show more markers. Only a tail that could still be the
 * start of a secret is held back (plus, briefly, a complete secret that such
 * a tail overlaps); with no secrets nothing is. What is held back is bounded
 * by a few times the longest secret.
 */
export class StreamRedactor {
  private readonly secrets: readonly string[];
  private readonly holdLimit: number;
  private pending = "";

  constructor(secrets: Iterable<string>) {
    this.secrets = normalizeSecrets(secrets);
    this.holdLimit = Math.max(MIN_HOLD_LIMIT, 4 * (this.secrets[0]?.length ?? 0));
  }

  push(chunk: string): string {
    if (this.secrets.length === 0) return chunk;
    const text = this.pending + chunk;
    const ranges = secretRanges(text, this.secrets);
    let cut = heldTailStart(text, this.secrets, 0);
    for (const [start, end] of ranges) {
      if (start >= cut || end <= cut) continue;
      // A complete secret straddles the cut. Holding it whole lets a longer
      // (or overlapping) secret that continues in the next chunk be hidden as
      // one; but a chain of overlapping matches could grow without end, so
      // past the limit the match is emitted as a marker and only what follows
      // it is held.
      cut = text.length - start <= this.holdLimit ? start : heldTailStart(text, this.secrets, end);
      break;
    }
    this.pending = text.slice(cut);
    const emitted = ranges.filter(([start]) => start < cut);
    return replaceRanges(
      text.slice(0, cut),
      emitted.map(([start, end]) => [start, Math.min(end, cut)] as const),
    );
  }

  /** Flushes what was held back. */
  end(): string {
    const text = this.pending;
    this.pending = "";
    if (text.length === 0) return "";
    return replaceRanges(text, secretRanges(text, this.secrets));
  }
}

/**
 * Start of the longest suffix of `text`, beginning at or after `from`, that
 * is a proper prefix of some secret; `text.length` when there is none.
 */
function heldTailStart(text: string, secrets: readonly string[], from: number): number {
  let best = text.length;
  for (const secret of secrets) {
    const first = secret.charCodeAt(0);
    const lowest = Math.max(from, text.length - (secret.length - 1));
    for (let start = lowest; start < best; start++) {
      if (text.charCodeAt(start) !== first) continue;
      if (secret.startsWith(text.slice(start))) {
        best = start;
        break;
      }
    }
  }
  return best;
}
