import { WAIT_MS } from "../agents/harness.js";
import type { Frame, RawClient } from "../support/client.js";

/** Reads frames until one of `type` (returned), failing on a terminal first. */
export async function untilType(client: RawClient, type: string): Promise<Frame> {
  for (;;) {
    const frame = await client.next(WAIT_MS);
    if (frame.message_type === type) return frame;
    if (frame.message_type === "result_message" || frame.message_type === "error_message") {
      throw new Error(`got ${JSON.stringify(frame)} while waiting for ${type}`);
    }
  }
}

/** Answers the next approval request with `decision`; returns the request. */
export async function answerApproval(client: RawClient, decision: "allow" | "deny", message?: string): Promise<Frame> {
  const request = await untilType(client, "approval_request_message");
  client.send({
    message_type: "approval_response_message",
    request_id: request.request_id,
    decision,
    ...(message === undefined ? {} : { message }),
  });
  return request;
}

export const usageOf = (terminal: Frame) => (terminal.metadata as Record<string, unknown>).usage;
