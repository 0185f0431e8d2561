import type {
  AssistantMessage,
  CommandExecutionResultMessage,
  CommandOutputMessage,
  CommandResultItem,
  ErrorMessage,
  RuntimeMessage,
} from "@runtimeuse/protocol";

/*
 * What keeps frames within what clients take: the runtime cuts what is its
 * own to cut (captured stdout, an error's text), spreads a streamed message
 * over several frames, and never cuts a handler's result.
 */

/**
 * The largest frame a WebSocket client takes unless told otherwise: the
 * default of Python's `websockets` (`max_size`), which the published client
 * 0.15.1 keeps. A longer frame closes its connection (1009) and its call fails
 * with "No result message received".
 */
export const CLIENT_FRAME_LIMIT_BYTES = 1024 * 1024;
/** Kept free for the envelope a resumable connection adds (`"seq":N,`). */
const ENVELOPE_ROOM_BYTES = 64;

/** A command's result as the runtime makes it: its stdout always captured. */
export type CapturedResult = CommandResultItem & { stdout: string };

/** What JSON writes for `value`, in UTF-8 bytes. */
const jsonBytes = (value: unknown): number => Buffer.byteLength(JSON.stringify(value));

/**
 * The `command_execution_result_message` for `results`, within `limitBytes`
 * of JSON. Where it would be longer, the captured stdouts give up their
 * beginning (their tails are kept, as the capture keeps them, and flagged
 * `stdout_truncated`), sharing what the rest of the frame leaves evenly: a
 * short stdout stays whole, the longest give up the most. Sizes are counted as
 * JSON writes them, escapes included (a control character takes six bytes).
 */
export function commandResultsMessage(
  results: CapturedResult[],
  limitBytes = CLIENT_FRAME_LIMIT_BYTES,
): CommandExecutionResultMessage {
  const message: CommandExecutionResultMessage = { message_type: "command_execution_result_message", results };
  const limit = limitBytes - ENVELOPE_ROOM_BYTES;
  // No stringify for the usual few short results: six bytes per UTF-16 unit is JSON's worst case.
  let bound = 256;
  for (const result of results) bound += 6 * (result.command.length + result.stdout.length) + 128;
  if (bound <= limit) return message;
  // Measured piece by piece: the whole frame may be longer than a string can be.
  const sizes = results.map((result) => bytesUpTo(result.stdout, limit));
  const rest = (truncated: boolean) =>
    jsonBytes({
      ...message,
      results: results.map((result) => ({ ...result, stdout: "", stdout_truncated: truncated })),
    });
  if (rest(false) + sizes.reduce((sum, size) => sum + size, 0) <= limit) return message;

  let left = limit - rest(true);
  const kept = results.map(() => "");
  // Smallest first: each takes at most an even share of what is left.
  const order = results.map((_, index) => index).sort((a, b) => (sizes[a] ?? 0) - (sizes[b] ?? 0));
  order.forEach((index, position) => {
    const share = Math.max(0, Math.floor(left / (order.length - position)));
    const stdout = results[index]?.stdout ?? "";
    const size = sizes[index] ?? 0;
    const tail = size <= share ? stdout : tailWithin(stdout, share);
    kept[index] = tail;
    // A whole stdout was measured already; only a cut one is measured again (at most its share).
    left -= tail === stdout ? size : escapedBytes(tail);
  });
  return {
    ...message,
    results: results.map((result, index) => {
      const stdout = kept[index] ?? "";
      if (stdout === result.stdout) return result;
      return { ...result, stdout, stdout_truncated: true };
    }),
  };
}

/** The UTF-8 bytes JSON writes for one UTF-16 unit `code` of a string (`next` the unit after it), between the quotes. */
function unitBytes(code: number, next: number): number {
  if (code < 0x80) {
    if (code === 0x22 || code === 0x5c) return 2; // \" and \\
    if (code >= 0x20) return 1;
    // \b \t \n \f \r, else \u00XX
    return code === 8 || code === 9 || code === 10 || code === 12 || code === 13 ? 2 : 6;
  }
  if (code < 0x800) return 2;
  if (isHighSurrogate(code)) return isLowSurrogate(next) ? 4 : 6; // a pair, or a lone one as \uXXXX
  if (isLowSurrogate(code)) return 6; // a lone low surrogate (a pair's is counted with its high one)
  return 3;
}

/**
 * From this many UTF-16 units on, a text is measured with native scans
 * (`Buffer.byteLength`, `indexOf`, one regular expression) rather than unit
 * by unit: on 100 MB of text, a few hundred milliseconds instead of seconds.
 */
const SCAN_FROM_UNITS = 4096;

/** Control characters JSON writes as `\u00XX` (six bytes); tab, line feed and the others with short escapes are not here. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: finding the control characters JSON escapes is the point.
const LONG_ESCAPES = /[\u0000-\u0007\u000b\u000e-\u001f]/;

/** The characters JSON writes with a backslash before them, one byte more than UTF-8: `"`, `\`, and `\b \t \n \f \r`. */
const SHORT_ESCAPES = ['"', "\\", "\b", "\t", "\n", "\f", "\r"] as const;

/** How many times `char` occurs in `text`. */
function occurrences(text: string, char: string): number {
  let count = 0;
  for (let at = text.indexOf(char); at !== -1; at = text.indexOf(char, at + 1)) count++;
  return count;
}

/**
 * What JSON writes for `text` between its quotes, counted with native scans,
 * when JSON writes each of its characters as UTF-8 does or with one
 * backslash more; undefined when it has a six-byte escape (a control
 * character, a lone surrogate), found at its first one.
 */
function scannedBytes(text: string): number | undefined {
  if (LONG_ESCAPES.test(text) || !(text as string & { isWellFormed(): boolean }).isWellFormed()) return undefined;
  let bytes = Buffer.byteLength(text, "utf8");
  for (let i = 0; i < SHORT_ESCAPES.length; i++) bytes += occurrences(text, SHORT_ESCAPES[i] as string);
  return bytes;
}

/**
 * `escapedBytes(text)`, or infinity when `text` has more units than `limit`:
 * a unit takes a byte at least, so it cannot fit `limit` and is not measured.
 */
function bytesUpTo(text: string, limit: number): number {
  return text.length > limit ? Number.POSITIVE_INFINITY : escapedBytes(text);
}

/** What JSON writes for `text` between its quotes, in UTF-8 bytes, without writing it. */
export function escapedBytes(text: string): number {
  if (text.length >= SCAN_FROM_UNITS) {
    const scanned = scannedBytes(text);
    if (scanned !== undefined) return scanned;
  }
  let bytes = 0;
  for (let i = 0; i < text.length; i++) {
    const cost = unitBytes(text.charCodeAt(i), text.charCodeAt(i + 1));
    bytes += cost;
    // Only a surrogate pair costs four: its low half is counted with it.
    if (cost === 4) i++;
  }
  return bytes;
}

/**
 * A streamed message as frames a client takes: undefined when it fits one
 * frame of `limitBytes` (nearly always, and its lengths alone say so), else
 * the same text, in order, over several messages of its type, each within
 * the limit. An `assistant_message` keeps its blocks whole where they fit,
 * several to a frame, and splits only a block longer than a frame; a
 * `command_output_message` is split anywhere, as a pipe splits output. Never
 * half a surrogate pair. Other messages are not streamed: undefined.
 */
export function streamedFrames(
  message: RuntimeMessage,
  limitBytes = CLIENT_FRAME_LIMIT_BYTES,
): RuntimeMessage[] | undefined {
  const limit = limitBytes - ENVELOPE_ROOM_BYTES;
  if (message.message_type === "assistant_message") return assistantFrames(message, limit);
  if (message.message_type === "command_output_message") return outputFrames(message, limit);
  return undefined;
}

/** What a string adds to an array in JSON besides its text: two quotes and a comma. */
const ITEM_BYTES = 3;

function assistantFrames(message: AssistantMessage, limit: number): AssistantMessage[] | undefined {
  const blocks = message.text_blocks;
  let bound = 128;
  for (const block of blocks) bound += 6 * block.length + ITEM_BYTES;
  if (bound <= limit) return undefined;
  const base = jsonBytes({ ...message, text_blocks: [] });
  const sizes = blocks.map((block) => bytesUpTo(block, limit));
  if (sizes.reduce((sum, size) => sum + size + ITEM_BYTES, base) <= limit) return undefined;

  const frames: AssistantMessage[] = [];
  let open: string[] = [];
  let used = base;
  const close = () => {
    if (open.length > 0) frames.push({ ...message, text_blocks: open });
    open = [];
    used = base;
  };
  blocks.forEach((block, index) => {
    let rest = block;
    let size = sizes[index] ?? 0;
    if (used + size + ITEM_BYTES > limit) close();
    // A block longer than a frame fills frames of its own; its last piece stays open for what follows.
    if (base + size + ITEM_BYTES > limit) {
      const cut = cutToFit(block, limit - base - ITEM_BYTES);
      for (const piece of cut.full) frames.push({ ...message, text_blocks: [piece] });
      rest = cut.rest;
      size = cut.restBytes;
    }
    open.push(rest);
    used += size + ITEM_BYTES;
  });
  close();
  return frames;
}

function outputFrames(message: CommandOutputMessage, limit: number): CommandOutputMessage[] | undefined {
  const text = message.text;
  if (6 * (text.length + message.command.length) + 128 <= limit) return undefined;
  const room = limit - jsonBytes({ ...message, text: "" });
  // A command too long to leave room beside it (a handler's own output call) goes as it is.
  if (room < MIN_OUTPUT_ROOM_BYTES) return undefined;
  const cut = cutToFit(text, room);
  if (cut.full.length === 0) return undefined;
  return [...cut.full, cut.rest].map((piece) => ({ ...message, text: piece }));
}

/**
 * `text` as heads of at most `room` bytes of JSON each (`full`) and what is
 * left once the rest fits `room` (`restBytes` its size). What is longer than
 * `room` in units cannot fit (a unit takes a byte at least): only the last
 * piece is measured whole, so a long text is read about once.
 */
function cutToFit(text: string, room: number): { full: string[]; rest: string; restBytes: number } {
  const full: string[] = [];
  let rest = text;
  for (;;) {
    const restBytes = bytesUpTo(rest, room);
    if (restBytes <= room) return { full, rest, restBytes };
    const piece = headWithin(rest, room);
    full.push(piece);
    rest = rest.slice(piece.length);
  }
}

/** Below this much room for output beside its command, a command output message is not split. */
const MIN_OUTPUT_ROOM_BYTES = 4096;

/**
 * The longest head of `text` that JSON writes in at most `bytes` bytes
 * (quotes not counted), never half a surrogate pair; at least one character
 * whatever `bytes` is, so that splitting always moves on.
 */
export function headWithin(text: string, bytes: number): string {
  let used = 0;
  let end = 0;
  // While much room is left, stretches are measured whole (see `nextStretch`); the last bytes unit by unit.
  while (bytes - used >= SCAN_FROM_UNITS && end < text.length) {
    const stretch = nextStretch(text, end, bytes, used, 1);
    if (stretch === undefined) break;
    end = stretch.to;
    used += stretch.bytes;
  }
  while (end < text.length) {
    const cost = unitBytes(text.charCodeAt(end), text.charCodeAt(end + 1));
    if (used + cost > bytes && end > 0) break;
    used += cost;
    end += cost === 4 ? 2 : 1;
  }
  return text.slice(0, end);
}

/** The longest tail of `text` that JSON writes in at most `bytes` bytes (quotes not counted), never half a surrogate pair. */
export function tailWithin(text: string, bytes: number): string {
  let used = 0;
  let start = text.length;
  while (bytes - used >= SCAN_FROM_UNITS && start > 0) {
    const stretch = nextStretch(text, start, bytes, used, -1);
    if (stretch === undefined) break;
    start = stretch.to;
    used += stretch.bytes;
  }
  while (start > 0) {
    const code = text.charCodeAt(start - 1);
    // A low surrogate after a high one: the pair goes in or stays out together.
    const pair = isLowSurrogate(code) && isHighSurrogate(text.charCodeAt(start - 2));
    const cost = pair ? 4 : unitBytes(code, text.charCodeAt(start));
    if (used + cost > bytes) break;
    used += cost;
    start -= pair ? 2 : 1;
  }
  return text.slice(start);
}

/**
 * An error's text is for people: past this many characters its middle is cut,
 * so an `error_message` stays far within a client's frame limit even when
 * every character takes six bytes of JSON (a handler that throws with a whole
 * HTML page, say). A handler's error is logged whole.
 */
export const MAX_ERROR_TEXT_CHARS = 64 * 1024;

/**
 * Past this many bytes of JSON, an error's metadata is left out (its `code`
 * and `field` stay): with the longest error text (`MAX_ERROR_TEXT_CHARS`, at
 * most six bytes each) the frame stays within `CLIENT_FRAME_LIMIT_BYTES`.
 */
export const MAX_ERROR_METADATA_BYTES = 256 * 1024;

/** An `error_message` as sent: its text cut (`withShortError`), its metadata left out when too large. */
export function errorFrame(message: ErrorMessage): ErrorMessage {
  const short = withShortError(message);
  const metadata = short.metadata;
  if (metadata === null || metadata === undefined) return short;
  // Most metadata is a code and a field or two of text: no stringify for those.
  let bound = 0;
  for (const key in metadata) {
    const value = metadata[key];
    if (value !== null && typeof value === "object") {
      bound = Number.POSITIVE_INFINITY;
      break;
    }
    bound += 1 + key.length + (typeof value === "string" ? value.length : 32);
  }
  if (bound * 6 <= MAX_ERROR_METADATA_BYTES) return short;
  const bytes = jsonBytes(metadata);
  if (bytes <= MAX_ERROR_METADATA_BYTES) return short;
  const { code, field } = metadata;
  return {
    ...short,
    metadata: {
      code,
      ...(field === undefined ? {} : { field }),
      metadata_left_out: `the error's metadata was ${bytes} bytes of JSON, more than the ${MAX_ERROR_METADATA_BYTES} an error may carry`,
    },
  };
}

/** `message` with its `error` cut in the middle when it is longer than `MAX_ERROR_TEXT_CHARS`. */
export function withShortError(message: ErrorMessage): ErrorMessage {
  const text = message.error;
  if (text.length <= MAX_ERROR_TEXT_CHARS) return message;
  let head = (MAX_ERROR_TEXT_CHARS >>> 1) - 64;
  let tail = text.length - head;
  // Never half a surrogate pair on either side of the cut.
  if (isLowSurrogate(text.charCodeAt(head))) head--;
  if (isLowSurrogate(text.charCodeAt(tail))) tail++;
  const cut = `[... ${tail - head} characters cut ...]`;
  return { ...message, error: `${text.slice(0, head)} ${cut} ${text.slice(tail)}` };
}

/**
 * The stretch of `text` from `from` (onwards for `direction` 1, backwards
 * for -1) that fits the `bytes - used` bytes of JSON left, `used` being what
 * the units already taken on that side cost, measured with native scans: as
 * many units as that room allows at the rate of bytes per unit so far.
 * One that does not fit is shortened by as many units as it went over when it
 * has more than that (a unit takes a byte at least, so dropping k units drops
 * k bytes at least: it then fits), else in proportion to how far it went
 * over. Never ends between the halves of a pair. Undefined when no unit would
 * be taken, or when the stretch has a six-byte escape: the caller goes on
 * unit by unit, which costs one pass, where measuring would cost several.
 */
function nextStretch(
  text: string,
  from: number,
  bytes: number,
  used: number,
  direction: 1 | -1,
): { to: number; bytes: number } | undefined {
  const room = bytes - used;
  const taken = direction === 1 ? from : text.length - from;
  const rate = taken === 0 ? 1 : used / taken;
  const measure = (to: number) => scannedBytes(direction === 1 ? text.slice(from, to) : text.slice(to, from));
  const clamp = (to: number) => withoutHalfPair(text, Math.min(text.length, Math.max(0, to)), -direction as 1 | -1);
  let to = clamp(from + direction * Math.floor(room / Math.max(1, rate)));
  for (;;) {
    const units = (to - from) * direction;
    if (units <= 0) return undefined;
    const size = measure(to);
    if (size === undefined) return undefined;
    if (size <= room) return { to, bytes: size };
    const over = size - room;
    to = clamp(from + direction * (over < units ? units - over : Math.floor((units * room) / size)));
  }
}

/** `at`, or the index `step` away when `at` falls between the halves of a surrogate pair. */
function withoutHalfPair(text: string, at: number, step: 1 | -1): number {
  return isHighSurrogate(text.charCodeAt(at - 1)) && isLowSurrogate(text.charCodeAt(at)) ? at + step : at;
}

const isHighSurrogate = (code: number): boolean => code >= 0xd800 && code <= 0xdbff;
const isLowSurrogate = (code: number): boolean => code >= 0xdc00 && code <= 0xdfff;
