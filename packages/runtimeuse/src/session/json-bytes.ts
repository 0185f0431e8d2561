/**
 * A runtime message written as UTF-8 JSON straight into a buffer, the same
 * bytes `JSON.stringify` gives, without the intermediate string: for a short
 * message, `JSON.stringify` builds its text in several pieces and joins them,
 * and copying that text into a buffer flattens it once more, some 250 bytes
 * of garbage per message. A handler that sends a hundred thousand messages in
 * one tick makes that much young garbage, and the young generation grows with
 * it. Here the common shapes (an object of strings and arrays of strings)
 * allocate nothing; every other value is written with `JSON.stringify`.
 */

/** Strings that JSON writes as they are, between quotes: no quote, backslash, control character or surrogate. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: JSON escapes control characters, so finding them is the point.
const PLAIN = /^[^"\\\u0000-\u001f\ud800-\udfff]*$/;
/** `"key":` of the keys seen so far: a message has few distinct keys. */
const keyBytes = new Map<string, Buffer>();
const MAX_CACHED_KEYS = 256;
const QUOTE = 0x22;
const COMMA = 0x2c;

/**
 * Writes `message` as JSON into `bytes` from `at`, touching nothing at or past
 * `end`; returns where it ends, or -1 when it may not fit (or is not a plain
 * object whose own `toJSON` JSON.stringify would call): then the caller uses
 * `JSON.stringify`.
 */
export function writeJson(message: object, bytes: Buffer, at: number, end: number): number {
  if (Object.getPrototypeOf(message) !== Object.prototype || "toJSON" in message) return -1;
  if (at >= end) return -1;
  bytes[at++] = 0x7b;
  let first = true;
  const fields = message as Record<string, unknown>;
  for (const key in fields) {
    if (!Object.hasOwn(fields, key)) continue;
    const value = fields[key];
    if (value === undefined || typeof value === "function" || typeof value === "symbol") continue;
    if (!first) {
      if (at >= end) return -1;
      bytes[at++] = COMMA;
    }
    first = false;
    at = writeKey(key, bytes, at, end);
    if (at < 0) return -1;
    at = writeValue(value, bytes, at, end);
    if (at < 0) return -1;
  }
  if (at >= end) return -1;
  bytes[at++] = 0x7d;
  return at;
}

function writeKey(key: string, bytes: Buffer, at: number, end: number): number {
  let encoded = keyBytes.get(key);
  if (encoded === undefined) {
    encoded = Buffer.from(`${JSON.stringify(key)}:`, "utf8");
    if (keyBytes.size < MAX_CACHED_KEYS) keyBytes.set(key, encoded);
  }
  if (at + encoded.length > end) return -1;
  return at + encoded.copy(bytes, at);
}

function writeValue(value: unknown, bytes: Buffer, at: number, end: number): number {
  if (typeof value === "string") return writeString(value, bytes, at, end);
  if (Array.isArray(value) && Object.getPrototypeOf(value) === Array.prototype && !Object.hasOwn(value, "toJSON")) {
    if (at >= end) return -1;
    bytes[at++] = 0x5b;
    for (let i = 0; i < value.length; i++) {
      if (i > 0) {
        if (at >= end) return -1;
        bytes[at++] = COMMA;
      }
      const item: unknown = value[i];
      if (typeof item === "object" && item !== null && "toJSON" in item) return -1;
      at =
        typeof item === "string"
          ? writeString(item, bytes, at, end)
          : writeText(JSON.stringify(item) ?? "null", bytes, at, end);
      if (at < 0) return -1;
    }
    if (at >= end) return -1;
    bytes[at++] = 0x5d;
    return at;
  }
  // A nested object's `toJSON` would be called with its key by JSON.stringify of the whole message: not here.
  if (typeof value === "object" && value !== null && "toJSON" in value) return -1;
  return writeText(JSON.stringify(value), bytes, at, end);
}

function writeString(text: string, bytes: Buffer, at: number, end: number): number {
  if (!PLAIN.test(text)) return writeText(JSON.stringify(text), bytes, at, end);
  // UTF-8 takes at most 3 bytes per UTF-16 unit (no surrogates here).
  if (at + text.length * 3 + 2 > end) return -1;
  bytes[at++] = QUOTE;
  at += bytes.write(text, at);
  bytes[at++] = QUOTE;
  return at;
}

function writeText(text: string, bytes: Buffer, at: number, end: number): number {
  if (at + text.length * 3 > end) return -1;
  return at + bytes.write(text, at);
}
