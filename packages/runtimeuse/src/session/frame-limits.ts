import type { CommandExecutionResultMessage, CommandResultItem, ErrorMessage } from "@runtimeuse/protocol";

/*
 * What keeps the frames a request ends with within what clients take: the
 * runtime cuts what is its own to cut (captured stdout, an error's text),
 * never a handler's result.
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
  const sizes = results.map((result) => escapedBytes(result.stdout));
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

/** What JSON writes for `text` between its quotes, in UTF-8 bytes, without writing it. */
export function escapedBytes(text: string): number {
  let bytes = 0;
  for (let i = 0; i < text.length; i++) {
    const cost = unitBytes(text.charCodeAt(i), text.charCodeAt(i + 1));
    bytes += cost;
    // Only a surrogate pair costs four: its low half is counted with it.
    if (cost === 4) i++;
  }
  return bytes;
}

/** The longest tail of `text` that JSON writes in at most `bytes` bytes (quotes not counted), never half a surrogate pair. */
export function tailWithin(text: string, bytes: number): string {
  let used = 0;
  let start = text.length;
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

const isHighSurrogate = (code: number): boolean => code >= 0xd800 && code <= 0xdbff;
const isLowSurrogate = (code: number): boolean => code >= 0xdc00 && code <= 0xdfff;
