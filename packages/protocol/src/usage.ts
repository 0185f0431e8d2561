import type { Usage } from "./schemas.js";

/** Usage of a run that made no model call (or whose agent reports none). */
export function zeroUsage(): Usage {
  return { input_tokens: 0, output_tokens: 0, cache_read_tokens: 0, cache_write_tokens: 0, model_calls: 0 };
}

/** `a + b`; `cost_usd` when either has one. */
export function addUsage(a: Usage, b: Usage): Usage {
  const sum: Usage = {
    input_tokens: a.input_tokens + b.input_tokens,
    output_tokens: a.output_tokens + b.output_tokens,
    cache_read_tokens: a.cache_read_tokens + b.cache_read_tokens,
    cache_write_tokens: a.cache_write_tokens + b.cache_write_tokens,
    model_calls: a.model_calls + b.model_calls,
  };
  if (a.cost_usd !== undefined || b.cost_usd !== undefined) sum.cost_usd = (a.cost_usd ?? 0) + (b.cost_usd ?? 0);
  return sum;
}
