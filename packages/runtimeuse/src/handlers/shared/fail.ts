import type { MessageSender } from "../../handler.js";

/**
 * Thrown by `failRun` after the request's `error_message` was sent; the
 * session drops it (the terminal is already out), so it only unwinds the
 * handler.
 */
export class AgentRunFailed extends Error {
  override readonly name = "AgentRunFailed";
}

/**
 * Ends the request with exactly one `error_message` carrying `metadata`
 * (merged over `code: handler_error` by the session), then unwinds.
 */
export function failRun(sender: MessageSender, message: string, metadata: Record<string, unknown> = {}): never {
  sender.sendErrorMessage(message, metadata);
  throw new AgentRunFailed(message);
}

/** Thrown when the handler's signal fired; the session has already sent `Request cancelled`. */
export function cancelled(signal: AbortSignal): Error {
  const reason: unknown = signal.reason;
  return reason instanceof Error ? reason : new Error("the run was cancelled");
}
