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
  if (bound <= limit || jsonBytes(message) <= limit) return message;

  const bare = results.map((result) => ({ ...result, stdout: "", stdout_truncated: true }));
  let left = limit - jsonBytes({ ...message, results: bare });
  const sizes = results.map((result) => jsonBytes(result.stdout) - 2);
  const kept = results.map(() => "");
  // Smallest first: each takes at most an even share of what is left.
  const order = results.map((_, index) => index).sort((a, b) => (sizes[a] ?? 0) - (sizes[b] ?? 0));
  order.forEach((index, position) => {
    const share = Math.max(0, Math.floor(left / (order.length - position)));
    const stdout = results[index]?.stdout ?? "";
    kept[index] = (sizes[index] ?? 0) <= share ? stdout : tailWithin(stdout, share);
    left -= jsonBytes(kept[index]) - 2;
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

/** The longest tail of `text` that JSON writes in at most `bytes` bytes (quotes not counted), never half a surrogate pair. */
function tailWithin(text: string, bytes: number): string {
  let low = 0;
  let high = text.length;
  // The smallest start whose tail fits: tails only shrink as the start moves right.
  while (low < high) {
    const middle = (low + high) >>> 1;
    if (jsonBytes(text.slice(middle)) - 2 <= bytes) high = middle;
    else low = middle + 1;
  }
  const code = text.charCodeAt(low);
  return text.slice(code >= 0xdc00 && code <= 0xdfff ? low + 1 : low);
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

const isLowSurrogate = (code: number): boolean => code >= 0xdc00 && code <= 0xdfff;
