import { MaxTurnsExceededError, ModelBehaviorError } from "@openai/agents";
import { APIConnectionError, APIError } from "openai";

export interface DescribedError {
  /** One line for the client's `error_message.error`. */
  message: string;
  /** Added to the `error_message.metadata`. */
  metadata: Record<string, unknown>;
}

/**
 * Turns what the SDK threw into one clear line: the API's HTTP status and its
 * own message for API errors (`OpenAI API error (HTTP 401): Incorrect API key
 * provided`), a plain sentence for the rest.
 */
export function describeOpenAIError(error: unknown): DescribedError {
  if (error instanceof APIConnectionError) {
    return {
      message: `cannot reach the OpenAI API: ${error.message}`,
      metadata: { error_type: "connection_error" },
    };
  }
  if (error instanceof APIError) {
    const body = error.error as { message?: unknown } | undefined;
    const detail = typeof body?.message === "string" && body.message ? body.message : error.message;
    const metadata: Record<string, unknown> = { status: error.status ?? null };
    if (error.type) metadata.error_type = error.type;
    if (error.code) metadata.error_code = error.code;
    if (error.requestID) metadata.request_id = error.requestID;
    const status = error.status === undefined ? "" : ` (HTTP ${error.status})`;
    return { message: `OpenAI API error${status}: ${detail}`, metadata };
  }
  if (error instanceof MaxTurnsExceededError) {
    return { message: `the agent stopped without an answer: ${error.message}`, metadata: { error_type: "max_turns" } };
  }
  if (error instanceof ModelBehaviorError) {
    return {
      message: `the model's reply could not be used: ${error.message}`,
      metadata: { error_type: "model_behavior" },
    };
  }
  const message = error instanceof Error ? error.message || error.name : String(error);
  return { message: `the openai agent failed: ${message}`, metadata: {} };
}
