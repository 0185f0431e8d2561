import type { Usage } from "@runtimeuse/protocol";

/** The SDK's run usage, as far as these fields go (`Usage` of @openai/agents). */
interface SdkUsage {
  requests: number;
  inputTokens: number;
  outputTokens: number;
  inputTokensDetails?: Array<Record<string, number>> | Record<string, number>;
}

/**
 * The run's usage in the runtime's shape: `input_tokens` as the API counts
 * them (cached ones included), `cache_read_tokens` the cached part; the
 * Responses API reports no cache writes and no cost.
 */
export function toUsage(usage: SdkUsage): Usage {
  const details = usage.inputTokensDetails;
  const entries = Array.isArray(details) ? details : details ? [details] : [];
  const cached = entries.reduce((sum, entry) => sum + (entry.cached_tokens ?? 0), 0);
  return {
    input_tokens: whole(usage.inputTokens),
    output_tokens: whole(usage.outputTokens),
    cache_read_tokens: whole(cached),
    cache_write_tokens: 0,
    model_calls: whole(usage.requests),
  };
}

function whole(value: number): number {
  return Number.isFinite(value) && value > 0 ? Math.floor(value) : 0;
}
