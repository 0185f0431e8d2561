import { InvalidOptionsError, TimeoutError, type TimeoutName } from "./errors.js";

/** Monotonic milliseconds; every deadline in this package is on this clock. */
export const now = (): number => performance.now();

/** A point in time a wait may not pass, and the option that set it. */
export interface Bound {
  at: number;
  which: TimeoutName;
  ms: number;
}

/** Longest delay `setTimeout` honours; longer ones would fire at once. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * Checks a timeout option: a positive number of milliseconds, or `Infinity`
 * for no limit. `undefined` means "use the default".
 */
export function checkTimeout(name: string, value: unknown): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== "number" || Number.isNaN(value) || value <= 0) {
    throw new InvalidOptionsError(
      `${name}: expected a positive number of milliseconds (or Infinity for no limit), received ${String(value)}`,
    );
  }
  return value;
}

/** The bound `ms` from now, or none for an unset or infinite limit. */
export function boundAfter(which: TimeoutName, ms: number | undefined): Bound | undefined {
  if (ms === undefined || ms === Number.POSITIVE_INFINITY) return undefined;
  return { at: now() + ms, which, ms };
}

export function earliest(...bounds: Array<Bound | undefined>): Bound | undefined {
  let first: Bound | undefined;
  for (const bound of bounds) if (bound && (first === undefined || bound.at < first.at)) first = bound;
  return first;
}

const DESCRIPTIONS: Record<TimeoutName, string> = {
  timeout: "the request did not finish",
  idleTimeout: "no message arrived from the runtime",
  connectTimeout: "the connection to the runtime did not open",
  closeTimeout: "the runtime did not confirm the end of the session",
  assistantCallbackTimeout: "onAssistantMessage did not return",
  artifactUploadCallbackTimeout: "onArtifactUploadRequest did not return",
};

export function timeoutError(bound: Bound): TimeoutError {
  return new TimeoutError(bound.which, bound.ms, `${DESCRIPTIONS[bound.which]} within ${bound.which} (${bound.ms} ms)`);
}

/** Calls `fn` at `at`; returns a cancel function. A bound beyond the timer range never fires. */
export function schedule(at: number, fn: () => void): () => void {
  const delay = Math.max(0, at - now());
  if (delay > MAX_TIMER_MS) return () => {};
  const timer = setTimeout(fn, delay);
  return () => clearTimeout(timer);
}

export type Raced<T> = { ok: true; value: T } | { ok: false; error: unknown } | { ok: "timeout"; bound: Bound };

/** Settles with the promise's outcome, or with the bound if it passes first. Never rejects. */
export function raceBound<T>(promise: Promise<T>, bound: Bound | undefined): Promise<Raced<T>> {
  return new Promise((resolve) => {
    const cancel = bound ? schedule(bound.at, () => resolve({ ok: "timeout", bound })) : () => {};
    promise.then(
      (value) => {
        cancel();
        resolve({ ok: true, value });
      },
      (error: unknown) => {
        cancel();
        resolve({ ok: false, error });
      },
    );
  });
}

/**
 * A signal that fires when any of `signals` fires (with that signal's
 * reason). `dispose` detaches it so long-lived signals do not collect listeners.
 */
export function linkSignals(...signals: Array<AbortSignal | undefined>): { signal: AbortSignal; dispose: () => void } {
  const controller = new AbortController();
  const detach: Array<() => void> = [];
  for (const signal of signals) {
    // Not one (a caller's mistake) is skipped here and refused by the options check, naming it.
    if (!(signal instanceof AbortSignal)) continue;
    if (signal.aborted) {
      controller.abort(signal.reason);
      break;
    }
    const onAbort = () => controller.abort(signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
    detach.push(() => signal.removeEventListener("abort", onAbort));
  }
  return {
    signal: controller.signal,
    dispose: () => {
      for (const fn of detach) fn();
    },
  };
}

/** Waits for `promise` to settle (its outcome is ignored), or rejects with `onAbort()` once `signal` fires. */
export function untilAborted(promise: Promise<unknown>, signal: AbortSignal, onAbort: () => unknown): Promise<void> {
  if (signal.aborted) return Promise.reject(onAbort());
  return new Promise((resolve, reject) => {
    const abort = () => reject(onAbort());
    signal.addEventListener("abort", abort, { once: true });
    const done = () => {
      signal.removeEventListener("abort", abort);
      resolve();
    };
    promise.then(done, done);
  });
}
