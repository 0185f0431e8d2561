/**
 * The longest delay `setTimeout` keeps: a longer one (or `Infinity`) fires
 * after 1 ms, with a `TimeoutOverflowWarning` on stderr.
 */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * Calls `fn` once, `ms` milliseconds from now, for any `ms`: a delay past
 * `MAX_TIMER_MS` (24.8 days) is waited out in steps, and `Infinity` never
 * fires. Returns the cancel. Like a `setTimeout`, a pending step keeps the
 * process alive. `now` is the clock the steps are measured on (monotonic milliseconds).
 */
export function afterDelay(ms: number, fn: () => void, now: () => number = () => performance.now()): () => void {
  if (ms === Number.POSITIVE_INFINITY) return () => {};
  const due = now() + ms;
  let timer: NodeJS.Timeout | undefined;
  const arm = (left: number) => {
    timer = setTimeout(step, Math.min(Math.max(left, 0), MAX_TIMER_MS), left);
  };
  const step = (left: number) => {
    if (left <= MAX_TIMER_MS) {
      timer = undefined;
      fn();
    } else arm(due - now());
  };
  arm(ms);
  return () => {
    if (timer !== undefined) clearTimeout(timer);
    timer = undefined;
  };
}
