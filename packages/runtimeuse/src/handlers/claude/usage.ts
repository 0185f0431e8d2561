import type { SDKAssistantMessage, SDKResultMessage } from "@anthropic-ai/claude-agent-sdk";
import type { Usage } from "../../handler.js";

/**
 * A run's usage in the runtime's shape. From the result: its per-model usage
 * summed (Claude Code's own calls to a smaller model included) and its cost;
 * `input_tokens` excludes cached tokens, as the Messages API counts them.
 * Model calls are the distinct API responses the run streamed.
 */
export class ClaudeUsage {
  /** Message id -> the usage its last streamed block carried. */
  private readonly calls = new Map<string, SDKAssistantMessage["message"]["usage"]>();

  /** Counts each API response once, whatever number of blocks Claude Code splits it into. */
  see(message: SDKAssistantMessage): void {
    const id = message.message.id;
    if (typeof id === "string") this.calls.set(id, message.message.usage);
  }

  /** With the run's result when it has one; without (an interrupted run), from the responses seen. */
  toUsage(result: SDKResultMessage | undefined): Usage {
    if (result !== undefined) {
      const models = Object.values(result.modelUsage ?? {});
      const sum = (pick: (model: (typeof models)[number]) => number) =>
        whole(models.reduce((total, model) => total + (pick(model) ?? 0), 0));
      return {
        input_tokens: sum((model) => model.inputTokens),
        output_tokens: sum((model) => model.outputTokens),
        cache_read_tokens: sum((model) => model.cacheReadInputTokens),
        cache_write_tokens: sum((model) => model.cacheCreationInputTokens),
        model_calls: this.calls.size,
        cost_usd: Number.isFinite(result.total_cost_usd) ? Math.max(0, result.total_cost_usd) : 0,
      };
    }
    const usage: Usage = {
      input_tokens: 0,
      output_tokens: 0,
      cache_read_tokens: 0,
      cache_write_tokens: 0,
      model_calls: 0,
    };
    for (const call of this.calls.values()) {
      usage.input_tokens += whole(call?.input_tokens ?? 0);
      usage.output_tokens += whole(call?.output_tokens ?? 0);
      usage.cache_read_tokens += whole(call?.cache_read_input_tokens ?? 0);
      usage.cache_write_tokens += whole(call?.cache_creation_input_tokens ?? 0);
    }
    usage.model_calls = this.calls.size;
    return usage;
  }
}

function whole(value: number): number {
  return Number.isFinite(value) && value > 0 ? Math.floor(value) : 0;
}
