import { LEVEL_ORDER, type LogFields, type LogLevel, type LogSink } from "./logger.js";

/** At most this many lines per window reach the log; the rest are counted. */
export const DEFAULT_LOG_BUDGET = { lines: 20, windowMs: 10_000 } as const;

export interface LogBudgetOptions {
  lines?: number;
  windowMs?: number;
  /** Monotonic clock in milliseconds. */
  now?: () => number;
}

/**
 * A sink for lines that a peer can cause at will (refused frames, refused
 * upgrades): a flood must not fill the disk. Each window of `windowMs` lets
 * `lines` lines through; later ones in the window are only counted, and when
 * the window ends one summary
 * line says how many were suppressed, per code (their `code` field, else
 * `reason`, else the message). Its timer does not keep the
 * process alive.
 */
export function budgetedSink(sink: LogSink, options: LogBudgetOptions = {}): LogSink {
  const limit = options.lines ?? DEFAULT_LOG_BUDGET.lines;
  const windowMs = options.windowMs ?? DEFAULT_LOG_BUDGET.windowMs;
  const now = options.now ?? (() => performance.now());
  let windowStart = Number.NEGATIVE_INFINITY;
  let written = 0;
  let suppressed = new Map<string, number>();
  /** The highest level among the suppressed lines; the summary uses it. */
  let level: LogLevel | undefined;
  let timer: NodeJS.Timeout | undefined;

  const summarize = () => {
    timer = undefined;
    if (suppressed.size === 0) return;
    let total = 0;
    const byCode: string[] = [];
    for (const [code, count] of suppressed) {
      total += count;
      byCode.push(`${code}=${count}`);
    }
    suppressed = new Map();
    const summaryLevel = level ?? "warn";
    level = undefined;
    sink.write(summaryLevel, `${total} more such lines suppressed (at most ${limit} per ${windowMs / 1000} s)`, {
      suppressed: total,
      by_code: byCode.join(","),
    });
  };

  return {
    enabled: (lineLevel) => sink.enabled?.(lineLevel) ?? true,
    dropped: () => sink.dropped?.() ?? 0,
    write(lineLevel: LogLevel, message: string, fields?: LogFields) {
      if (sink.enabled?.(lineLevel) === false) return;
      const at = now();
      if (at - windowStart >= windowMs) {
        if (timer !== undefined) clearTimeout(timer);
        summarize();
        windowStart = at;
        written = 0;
      }
      if (written < limit) {
        written++;
        sink.write(lineLevel, message, fields);
        return;
      }
      const code = String(fields?.code ?? fields?.reason ?? message);
      suppressed.set(code, (suppressed.get(code) ?? 0) + 1);
      if (level === undefined || LEVEL_ORDER[lineLevel] > LEVEL_ORDER[level]) level = lineLevel;
      if (timer === undefined) {
        timer = setTimeout(summarize, Math.max(0, windowStart + windowMs - at));
        timer.unref();
      }
    },
  };
}
