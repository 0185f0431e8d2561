import { inspect } from "node:util";
import { redactText } from "./redact/index.js";

export const LOG_LEVELS = ["debug", "info", "warn", "error"] as const;
export const LOG_FORMATS = ["text", "json"] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];
export type LogFormat = (typeof LOG_FORMATS)[number];
export const DEFAULT_LOG_LEVEL: LogLevel = "info";
export const DEFAULT_LOG_FORMAT: LogFormat = "text";

/**
 * The logger handed to handlers: console-like (each method takes what
 * `console.log` takes), prefixed with the request's `source_id`, redacted.
 * `log` and `info` write at level info.
 */
export interface Logger {
  debug(...args: unknown[]): void;
  info(...args: unknown[]): void;
  log(...args: unknown[]): void;
  warn(...args: unknown[]): void;
  error(...args: unknown[]): void;
}

export type LogFields = Record<string, string | number | boolean | null | undefined>;

/** Where the runtime writes its own lines. One call, one line. */
export interface LogSink {
  /** Never throws: a line that cannot be written is dropped (and counted by `dropped`). */
  write(level: LogLevel, message: string, fields?: LogFields): void;
  /**
   * False when lines of this level are dropped anyway; wrappers check it before
   * doing work (redaction) for nothing. Absent means every level is written.
   */
  enabled?(level: LogLevel): boolean;
  /**
   * Lines lost because the destination failed (its reader went away, the disk
   * is full). Absent for sinks that cannot fail. `GET /health` reports it.
   */
  dropped?(): number;
  /** Writes at once whatever the sink has gathered (a batching sink); absent for sinks that gather nothing. */
  flush?(): void;
}

export const LEVEL_ORDER: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export interface StreamSinkOptions {
  level?: LogLevel;
  format?: LogFormat;
  stream?: NodeJS.WritableStream;
  /**
   * Gather debug and info lines for up to `LOG_BATCH_DELAY_MS` (or
   * `LOG_BATCH_LIMIT_CHARS`) and write them in one write instead of one
   * write each. The lines are the same; a warn or error line is written at
   * once, after whatever was gathered before it. Default false.
   */
  batch?: boolean;
}

/**
 * A batching sink writes what it gathered once it holds this many characters
 * (UTF-16 units: as many bytes for ASCII lines, up to three times as many otherwise).
 */
export const LOG_BATCH_LIMIT_CHARS = 64 * 1024;
/**
 * A batching sink writes a gathered info line at most this late. Longer than
 * one turn of the event loop on purpose: requests back to back on one
 * connection take a turn each, so a write per turn would still be a write
 * (a system call) per request.
 */
export const LOG_BATCH_DELAY_MS = 20;

const LEVEL_LABEL: Record<LogLevel, string> = { debug: "DEBUG", info: "INFO ", warn: "WARN ", error: "ERROR" };

/** Values with whitespace, quotes or `=` are written JSON-quoted so a line stays parseable as key=value. */
const NEEDS_QUOTES = /[\s"=]/;

function needsQuotes(value: string): boolean {
  // Plain ASCII answers without the regex; anything else (Unicode spaces) asks it.
  for (let i = 0; i < value.length; i++) {
    const code = value.charCodeAt(i);
    if (code <= 32 || code === 34 || code === 61 || code >= 127) return NEEDS_QUOTES.test(value);
  }
  return false;
}

/** Whether a character breaks a text line or drives a terminal: control characters but tab, DEL, U+2028 and U+2029. */
function isControl(code: number): boolean {
  return (code < 32 && code !== 9) || code === 127 || code === 0x2028 || code === 0x2029;
}

/**
 * A text line's message as one line: a handler's message may hold line
 * breaks (a stack, a model's output) or terminal escapes, which would split
 * its line in two or let it write a line that looks like the runtime's.
 * Line feeds and carriage returns become `\n` and `\r`, other control
 * characters `\uXXXX`; tabs stay. The JSON format keeps messages as they are.
 */
function oneLine(message: string): string {
  let out = "";
  let from = 0;
  for (let i = 0; i < message.length; i++) {
    const code = message.charCodeAt(i);
    if (!isControl(code)) continue;
    out += message.slice(from, i);
    out += code === 10 ? "\\n" : code === 13 ? "\\r" : `\\u${code.toString(16).padStart(4, "0")}`;
    from = i + 1;
  }
  return from === 0 ? message : out + message.slice(from);
}

/** "000" to "999": the milliseconds of a timestamp. */
const MILLIS = Array.from({ length: 1000 }, (_, ms) => String(ms).padStart(3, "0"));

/**
 * `new Date(clock()).toISOString()`, reusing the string while the millisecond
 * is the same (a busy connection logs several lines per millisecond), and
 * its date and time up to the second while the second is the same: the
 * milliseconds are put on by hand (`toISOString` costs about a microsecond
 * a call, and nearly every line of one-shot connections falls in a new millisecond).
 */
export function timestamper(clock: () => number = Date.now): () => string {
  let lastMs = Number.NaN;
  let lastText = "";
  let second = Number.NaN;
  /** `2026-12-01T21:04:47.` for the second that starts at `second`. */
  let prefix = "";
  return () => {
    const now = clock();
    if (now !== lastMs) {
      lastMs = now;
      const ms = ((now % 1000) + 1000) % 1000;
      if (now - ms !== second) {
        second = now - ms;
        prefix = new Date(second).toISOString().slice(0, -4);
      }
      lastText = `${prefix}${MILLIS[ms]}Z`;
    }
    return lastText;
  };
}

/**
 * One argument of a handler's log call as text, never throwing (as
 * `console.log` never does): an error as its stack, other values as JSON, and
 * what JSON cannot show (`undefined`, a function, a BigInt, a cycle, a
 * `toJSON` that throws, a revoked proxy) as `util.inspect` shows it, on one line.
 */
function formatArg(arg: unknown): string {
  if (typeof arg === "string") return arg;
  try {
    if (arg instanceof Error) return arg.stack ?? arg.message;
    const json = JSON.stringify(arg);
    if (json !== undefined) return json;
  } catch {}
  try {
    return inspect(arg, { breakLength: Number.POSITIVE_INFINITY, depth: 4 });
  } catch {
    return `[a ${typeof arg} that cannot be shown]`;
  }
}

/** Writes to a stream that may fail, never letting its failure escape. */
export interface GuardedStream {
  /** Writes `text` (`lines` lines, default 1) unless the stream has failed; false when it was dropped instead. */
  write(text: string, lines?: number): boolean;
  readonly failed: boolean;
  /** Writes dropped because the stream had failed, the failing one included. */
  readonly dropped: number;
}

/**
 * Takes over a stream's failures. A pipe whose reader went away (EPIPE), a
 * full disk or a non-blocking descriptor's EAGAIN storm shows as an `error`
 * event; unheard, it becomes an uncaught exception, and a handler that logs
 * that exception to the same stream fails again, forever. Here the first
 * error marks the stream failed, `onFail` runs once (never with a write to the
 * same stream), and every later write is counted and dropped.
 */
export function guardStream(stream: NodeJS.WritableStream, onFail?: (error: Error) => void): GuardedStream {
  let failed = false;
  let dropped = 0;
  /** Lines of the last write: a stream fails after the write that failed returned. */
  let lastLines = 1;
  const fail = (error: Error, lines = lastLines) => {
    if (failed) return;
    failed = true;
    dropped += lines;
    onFail?.(error);
  };
  stream.on("error", (error: Error) => fail(error));
  return {
    write(text, lines = 1) {
      if (failed || (stream as { destroyed?: boolean }).destroyed === true) {
        if (!failed) fail(new Error("stream destroyed"), lines);
        else dropped += lines;
        return false;
      }
      lastLines = lines;
      try {
        stream.write(text);
        return true;
      } catch (error) {
        fail(error instanceof Error ? error : new Error(String(error)), lines);
        return false;
      }
    },
    get failed() {
      return failed;
    },
    get dropped() {
      return dropped;
    },
  };
}

/** A sink writing one line per entry, text or JSON, to stderr by default. */
export function createStreamSink(options: StreamSinkOptions = {}): LogSink {
  const threshold = LEVEL_ORDER[options.level ?? DEFAULT_LOG_LEVEL];
  const format = options.format ?? DEFAULT_LOG_FORMAT;
  const stream = guardStream(options.stream ?? process.stderr);
  const timestamp = timestamper();
  const batched = options.batch === true ? batchedWriter(stream) : undefined;
  const out = batched?.write ?? ((line: string) => stream.write(line));
  return {
    enabled: (level) => LEVEL_ORDER[level] >= threshold,
    dropped: () => stream.dropped,
    ...(batched ? { flush: batched.flush } : {}),
    write(level, message, fields) {
      if (LEVEL_ORDER[level] < threshold) return;
      const time = timestamp();
      const now = LEVEL_ORDER[level] >= LEVEL_ORDER.warn;
      if (format === "json") {
        out(`${JSON.stringify({ time, level, msg: message, ...fields })}\n`, now);
        return;
      }
      let line = `${time} ${LEVEL_LABEL[level]} ${oneLine(message)}`;
      if (fields) {
        // for-in over a plain fields object: no entry arrays per line.
        for (const key in fields) {
          const value = fields[key];
          if (value === undefined) continue;
          line += ` ${key}=${typeof value === "string" && needsQuotes(value) ? JSON.stringify(value) : String(value)}`;
        }
      }
      out(`${line}\n`, now);
    },
  };
}

/**
 * Gathers lines and writes them to `stream` in one write, `LOG_BATCH_DELAY_MS`
 * after the first one, past `LOG_BATCH_LIMIT_CHARS`, or at once when `now`
 * (after the lines gathered before, so the order holds). The timer is not
 * unref'd: a process that ends its work still writes its last lines before it
 * exits. A failed stream counts every line of the write it failed on as dropped.
 *
 * The lines are kept as they are and joined into one string at the write,
 * which the stream encodes once. Encoding each line into a buffer as it came
 * (the way before: a call into the encoder per line, a new 64 KiB buffer
 * every few hundred lines) took more server CPU per request: about 12 us
 * more with the echo bench at `--log-level info` (median of nine paired runs).
 */
function batchedWriter(stream: GuardedStream): { write(line: string, now: boolean): void; flush(): void } {
  let gathered: string[] = [];
  let chars = 0;
  let timer: NodeJS.Timeout | undefined;
  const flush = () => {
    if (timer !== undefined) clearTimeout(timer);
    timer = undefined;
    if (gathered.length === 0) return;
    const lines = gathered;
    gathered = [];
    chars = 0;
    stream.write(lines.join(""), lines.length);
  };
  return {
    write(line, now) {
      gathered.push(line);
      chars += line.length;
      if (now || chars >= LOG_BATCH_LIMIT_CHARS) flush();
      else timer ??= setTimeout(flush, LOG_BATCH_DELAY_MS);
    },
    flush,
  };
}

/** A sink that drops everything (tests, embedding without logs). */
export const silentSink: LogSink = { write() {}, enabled: () => false };

/**
 * Wraps a sink so that every message and string field has the given secrets
 * removed. `secrets` is read on every call, so a session can add to it.
 */
export function redactingSink(sink: LogSink, secrets: () => readonly string[]): LogSink {
  return {
    enabled: (level) => sink.enabled?.(level) ?? true,
    dropped: () => sink.dropped?.() ?? 0,
    write(level, message, fields) {
      if (sink.enabled?.(level) === false) return;
      const list = secrets();
      if (list.length === 0) {
        sink.write(level, message, fields);
        return;
      }
      // Fields are copied only when one of them holds a secret: most lines hold none.
      let clean = fields;
      if (fields) {
        for (const key in fields) {
          const value = fields[key];
          if (typeof value !== "string") continue;
          const redacted = redactText(value, list);
          if (redacted === value) continue;
          clean = clean === fields ? { ...fields } : clean;
          (clean as LogFields)[key] = redacted;
        }
      }
      sink.write(level, redactText(message, list), clean);
    },
  };
}

/** The console-like logger handlers get, writing through a (redacting) sink. */
export function createLogger(sink: LogSink, prefix?: string): Logger {
  const line = (args: unknown[]) => {
    const text = args.map(formatArg).join(" ");
    return prefix ? `[${prefix}] ${text}` : text;
  };
  return {
    debug: (...args) => sink.write("debug", line(args)),
    info: (...args) => sink.write("info", line(args)),
    log: (...args) => sink.write("info", line(args)),
    warn: (...args) => sink.write("warn", line(args)),
    error: (...args) => sink.write("error", line(args)),
  };
}
