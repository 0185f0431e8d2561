/**
 * The conversation file format, with no I/O: JSON lines, a header line, then
 * one line per saved run.
 *
 *     {"runtimeuse_conversation":1}
 *     {"run":1,"at":"2025-...","append":[...],"state":...}
 *     {"run":2,"at":"2025-...","append":[...]}
 *
 * A run's line carries the history entries it appended and, when it changed
 * it, the whole new state value. A rewritten file holds one line whose
 * `append` is the whole history (its `run` is the count so far). The writer
 * writes a line whole, newline last; so a file cut anywhere (a crash, `kill
 * -9`) decodes as it was after the last complete line. Only the last line may
 * be unfinished: damage anywhere else makes the file unreadable.
 */

import { jsonText } from "../json-text.js";

export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

export const FORMAT_VERSION = 1;
const HEADER_LINE = `${JSON.stringify({ runtimeuse_conversation: FORMAT_VERSION })}\n`;
const NEWLINE = 0x0a;

/** What earlier runs saved, as read from a file. */
export interface Decoded {
  /** Saved runs so far. */
  runs: number;
  /** The last saved state value (undefined when no run saved one). */
  state: JsonValue | undefined;
  history: JsonValue[];
  /** Bytes up to the end of the last complete line; past it lies an unfinished write. */
  committedBytes: number;
  /** Bytes of state values that later runs replaced: what a rewrite would reclaim. */
  supersededBytes: number;
}

export class UnreadableConversation extends Error {
  override readonly name = "UnreadableConversation";
}

interface RunLine {
  run: number;
  at?: string;
  append?: JsonValue[];
  state?: JsonValue;
}

/** Reads a conversation file's bytes. Throws `UnreadableConversation` with the reason. */
export function decode(bytes: Uint8Array): Decoded {
  const buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerEnd = buffer.indexOf(NEWLINE);
  if (headerEnd < 0 || !isHeader(buffer.toString("utf8", 0, headerEnd))) {
    throw new UnreadableConversation("not a runtimeuse conversation file (its first line is not the header)");
  }
  const decoded: Decoded = {
    runs: 0,
    state: undefined,
    history: [],
    committedBytes: headerEnd + 1,
    supersededBytes: 0,
  };
  let stateBytes = 0;
  let start = headerEnd + 1;
  let lineNumber = 1;
  while (start < buffer.length) {
    const end = buffer.indexOf(NEWLINE, start);
    // No newline: a write cut short. It is the last thing in the file by construction.
    if (end < 0) break;
    lineNumber++;
    const line = parseRunLine(buffer.toString("utf8", start, end));
    const last = buffer.indexOf(NEWLINE, end + 1) < 0;
    if (typeof line === "string") {
      // A damaged last line is an unfinished write (a crash mid-write can leave any bytes); earlier ones are not.
      if (last) break;
      throw new UnreadableConversation(`line ${lineNumber}: ${line}`);
    }
    if (decoded.runs > 0 && line.run !== decoded.runs + 1) {
      if (last) break;
      throw new UnreadableConversation(`line ${lineNumber}: run ${line.run} follows run ${decoded.runs}`);
    }
    decoded.runs = line.run;
    if (line.append) for (const entry of line.append) decoded.history.push(entry);
    if ("state" in line) {
      decoded.supersededBytes += stateBytes;
      stateBytes = JSON.stringify(line.state).length;
      decoded.state = line.state;
    }
    decoded.committedBytes = end + 1;
    start = end + 1;
  }
  return decoded;
}

/** A problem as text, or the line. */
function parseRunLine(text: string): RunLine | string {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return "not JSON";
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) return "not a JSON object";
  const line = value as Partial<RunLine>;
  if (!Number.isSafeInteger(line.run) || (line.run as number) < 1) return "no run number";
  if (line.append !== undefined && !Array.isArray(line.append)) return "append is not a list";
  return line as RunLine;
}

function isHeader(text: string): boolean {
  try {
    const value = JSON.parse(text) as { runtimeuse_conversation?: unknown } | null;
    return value?.runtimeuse_conversation === FORMAT_VERSION;
  } catch {
    return false;
  }
}

/** What one run changes. Entries and state arrive as JSON text, serialised when the handler handed them over. */
export interface RunChanges {
  /** Entries added after the history (or after `replaceHistory`, when set). */
  append: readonly string[];
  /** The whole history replaced by these entries. */
  replaceHistory?: readonly string[];
  /** The new state value, when the run saved one. */
  state?: string;
}

/** The line that records run number `run`. */
export function encodeRun(run: number, at: Date, changes: RunChanges): string {
  let line = `{"run":${run},"at":${JSON.stringify(at.toISOString())}`;
  if (changes.append.length > 0) line += `,"append":[${changes.append.join(",")}]`;
  if (changes.state !== undefined) line += `,"state":${changes.state}`;
  return `${line}}\n`;
}

/** A whole file holding `runs` runs: the header and one line with the whole history. */
export function encodeFile(runs: number, at: Date, history: readonly string[], state: string | undefined): string {
  return HEADER_LINE + encodeRun(runs, at, state === undefined ? { append: history } : { append: history, state });
}

/** Serialises one value handed over by a handler, refusing what JSON cannot hold. */
export function toJsonText(value: unknown, what: string): string {
  const json = jsonText(value);
  if (!json.ok) throw new TypeError(`${what} is not JSON-serialisable: ${json.reason}`);
  if (json.text === undefined) throw new TypeError(`${what} is not JSON-serialisable (got ${typeof value})`);
  return json.text;
}
