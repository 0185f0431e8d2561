// Small statistics helpers for benchmark samples (milliseconds or rates).

/** The p-th percentile (0..100) of `samples`, nearest-rank; NaN when there are none. */
export function percentile(samples, p) {
  if (samples.length === 0) return Number.NaN;
  const sorted = [...samples].sort((a, b) => a - b);
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))];
}

export function median(samples) {
  return percentile(samples, 50);
}

/** count, min, p50, p90, p99, max and mean of `samples`. */
export function summarize(samples) {
  if (samples.length === 0) return { count: 0, min: NaN, p50: NaN, p90: NaN, p99: NaN, max: NaN, mean: NaN };
  let sum = 0;
  let min = Infinity;
  let max = -Infinity;
  for (const value of samples) {
    sum += value;
    if (value < min) min = value;
    if (value > max) max = value;
  }
  return {
    count: samples.length,
    min,
    p50: percentile(samples, 50),
    p90: percentile(samples, 90),
    p99: percentile(samples, 99),
    max,
    mean: sum / samples.length,
  };
}

/** A number shown with a precision that suits its size: 0.123, 12.3, 1234. */
export function formatNumber(value) {
  if (!Number.isFinite(value)) return String(value);
  const abs = Math.abs(value);
  if (Number.isInteger(value) && abs < 1000) return String(value);
  if (abs >= 1000) return Math.round(value).toLocaleString("en-US");
  if (abs >= 100) return value.toFixed(0);
  if (abs >= 10) return value.toFixed(1);
  return value.toFixed(2);
}
