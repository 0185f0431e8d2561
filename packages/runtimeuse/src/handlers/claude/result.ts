import type { SDKResultMessage } from "@anthropic-ai/claude-agent-sdk";

/** The result's `metadata`: what the run cost and how it went, whatever its outcome. */
export function resultMetadata(result: SDKResultMessage, model: string): Record<string, unknown> {
  return {
    agent: "claude",
    model,
    session_id: result.session_id,
    duration_ms: result.duration_ms,
    duration_api_ms: result.duration_api_ms,
    num_turns: result.num_turns,
    total_cost_usd: result.total_cost_usd,
    usage: result.usage,
    model_usage: result.modelUsage,
    stop_reason: result.stop_reason,
  };
}

export interface ResultProblem {
  message: string;
  metadata: Record<string, unknown>;
}

const SUBTYPE_MESSAGES: Record<string, string> = {
  error_max_turns: "the claude agent stopped: it reached its turn limit",
  error_max_budget_usd: "the claude agent stopped: it reached its budget",
  error_max_structured_output_retries: "the claude agent gave no answer matching the output schema",
  error_during_execution: "the claude agent failed while running",
};

/**
 * Why a result is not a success, as one line for `error_message`, or
 * undefined for a usable result. An API failure reads `Anthropic API error
 * (HTTP 401): <what Claude Code said>`.
 */
export function describeResult(result: SDKResultMessage, wantsStructured: boolean): ResultProblem | undefined {
  const status = (result as { api_error_status?: unknown }).api_error_status;
  const httpStatus = typeof status === "number" ? status : undefined;
  if (result.subtype === "success") {
    if (result.is_error) {
      const text = result.result.trim() || "the run ended in an error";
      return {
        message:
          httpStatus === undefined
            ? `the claude agent failed: ${text}`
            : `Anthropic API error (HTTP ${httpStatus}): ${text}`,
        metadata: { subtype: result.subtype, ...(httpStatus === undefined ? {} : { status: httpStatus }) },
      };
    }
    if (wantsStructured) {
      const output = result.structured_output;
      if (typeof output !== "object" || output === null || Array.isArray(output)) {
        return {
          message: "the claude agent finished without a structured answer, although an output schema was given",
          metadata: { subtype: result.subtype },
        };
      }
    }
    return undefined;
  }
  const base = SUBTYPE_MESSAGES[result.subtype] ?? `the claude agent failed (${result.subtype})`;
  const errors = result.errors.filter((line) => line.trim().length > 0);
  return {
    message: errors.length > 0 ? `${base}: ${errors.join("; ")}` : base,
    metadata: { subtype: result.subtype, ...(errors.length > 0 ? { errors } : {}) },
  };
}
