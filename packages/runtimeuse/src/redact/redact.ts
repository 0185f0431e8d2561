import { containsSecret, findSecrets } from "./secret-search.js";

export const REDACTED = "[REDACTED]";

/**
 * Distinct, non-empty secrets, longest first, in a frozen list: it cannot
 * change once made, so a search may keep what it learned of it (see
 * secret-search.ts).
 */
export function normalizeSecrets(secrets: Iterable<string>): readonly string[] {
  const unique = new Set<string>();
  for (const secret of secrets) if (secret.length > 0) unique.add(secret);
  return Object.freeze([...unique].sort((a, b) => b.length - a.length));
}

/**
 * Every [start, end) range of `text` covered by an occurrence of a secret,
 * overlapping occurrences merged. Merging is what makes the result independent
 * of the secrets' order: `abc` and `bcd` in `abcd` hide all four characters.
 */
export function secretRanges(text: string, secrets: readonly string[]): Array<[number, number]> {
  const ranges: Array<[number, number]> = [];
  findSecrets(text, secrets, (start, secret) => {
    ranges.push([start, start + secret.length]);
    return false;
  });
  if (ranges.length <= 1) return ranges;
  ranges.sort((a, b) => a[0] - b[0]);
  const merged: Array<[number, number]> = [];
  for (const range of ranges) {
    const last = merged.at(-1);
    if (last !== undefined && range[0] <= last[1]) last[1] = Math.max(last[1], range[1]);
    else merged.push([range[0], range[1]]);
  }
  return merged;
}

/** Replaces the given ranges of `text` (sorted, disjoint) with the marker. */
export function replaceRanges(text: string, ranges: ReadonlyArray<readonly [number, number]>): string {
  let out = "";
  let from = 0;
  for (const [start, end] of ranges) {
    out += text.slice(from, start) + REDACTED;
    from = end;
  }
  return out + text.slice(from);
}

/** `text` with every occurrence of every secret replaced by `[REDACTED]`. */
export function redactText(text: string, secrets: readonly string[]): string {
  if (secrets.length === 0 || text.length === 0 || !containsSecret(text, secrets)) return text;
  const ranges = secretRanges(text, secrets);
  return ranges.length === 0 ? text : replaceRanges(text, ranges);
}
