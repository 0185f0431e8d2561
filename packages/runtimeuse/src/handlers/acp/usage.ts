import type { Usage as AcpUsage } from "@agentclientprotocol/sdk/unstable";
import type { Usage } from "@runtimeuse/protocol";

/**
 * Adds up what the agent reports in each `session/prompt` response's `usage`
 * into the runtime's usage shape. ACP reports tokens per prompt turn, not per
 * model call, so `model_calls` counts the turns that reported usage. Without
 * any report the run has no usage figures.
 */
export class UsageTally {
  private usage: Usage | undefined;

  add(reported: AcpUsage | null | undefined): void {
    if (!reported) return;
    const usage = this.usage ?? {
      input_tokens: 0,
      output_tokens: 0,
      cache_read_tokens: 0,
      cache_write_tokens: 0,
      model_calls: 0,
    };
    usage.input_tokens += whole(reported.inputTokens);
    usage.output_tokens += whole(reported.outputTokens);
    usage.cache_read_tokens += whole(reported.cachedReadTokens);
    usage.cache_write_tokens += whole(reported.cachedWriteTokens);
    usage.model_calls += 1;
    this.usage = usage;
  }

  /** The figures for `metadata.usage`, with the cost when the agent reported one in USD. */
  result(costUsd: number | undefined): Usage | undefined {
    if (this.usage === undefined) return undefined;
    return costUsd === undefined ? { ...this.usage } : { ...this.usage, cost_usd: costUsd };
  }
}

function whole(value: number | null | undefined): number {
  return typeof value === "number" && Number.isFinite(value) && value > 0 ? Math.round(value) : 0;
}
