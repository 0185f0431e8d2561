import { redactText } from "./redact/redact.js";

export type LogLevel = "debug" | "info" | "warn" | "error";
export type LogFormat = "text" | "json";

/** The logger handed to handlers: console-like, prefixed, redacted. */
export interface Logger {
  log(...args: unknown[]): void;
  warn(...args: unknown[]): void;
  error(...args: unknown[]): void;
  debug(...args: unknown[]): void;
}

export type LogFields = Record<string, string | number | boolean | null | undefined>;

/** Where the runtime writes its own lines. One call, one line. */
export interface LogSink {
  write(level: LogLevel, message: string, fields?: LogFields): void;
  /**
   * False when lines of this level are dropped anyway; wrappers check it before
   * doing work (redaction) for nothing. Absent means every level is written.
   */
  enabled?(level: LogLevel): boolean;
}

const LEVEL_ORDER: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export interface StreamSinkOptions {
  level?: LogLevel;
  format?: LogFormat;
  stream?: NodeJS.WritableStream;
}

function formatArg(arg: unknown): string {
  if (typeof arg === "string") return arg;
  if (arg instanceof Error) return arg.stack ?? arg.message;
  try {
    return JSON.stringify(arg);
  } catch {
    return String(arg);
  }
}

/** A sink writing one line per entry, text or JSON, to stderr by default. */
export function createStreamSink(options: StreamSinkOptions = {}): LogSink {
  const threshold = LEVEL_ORDER[options.level ?? "info"];
  const format = options.format ?? "text";
  const stream = options.stream ?? process.stderr;
  return {
    enabled: (level) => LEVEL_ORDER[level] >= threshold,
    write(level, message, fields) {
      if (LEVEL_ORDER[level] < threshold) return;
      const time = new Date().toISOString();
      if (format === "json") {
        stream.write(`${JSON.stringify({ time, level, msg: message, ...fields })}\n`);
        return;
      }
      let line = `${time} ${level.toUpperCase().padEnd(5)} ${message}`;
      if (fields) {
        for (const [key, value] of Object.entries(fields)) {
          if (value === undefined) continue;
          const text = typeof value === "string" && /[\s"=]/.test(value) ? JSON.stringify(value) : String(value);
          line += ` ${key}=${text}`;
        }
      }
      stream.write(`${line}\n`);
    },
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
    write(level, message, fields) {
      if (sink.enabled?.(level) === false) return;
      const list = secrets();
      if (list.length === 0) {
        sink.write(level, message, fields);
        return;
      }
      let clean: LogFields | undefined;
      if (fields) {
        clean = {};
        for (const [key, value] of Object.entries(fields)) {
          clean[key] = typeof value === "string" ? redactText(value, list) : value;
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
    log: (...args) => sink.write("info", line(args)),
    warn: (...args) => sink.write("warn", line(args)),
    error: (...args) => sink.write("error", line(args)),
    debug: (...args) => sink.write("debug", line(args)),
  };
}
