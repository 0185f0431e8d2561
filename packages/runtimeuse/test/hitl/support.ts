import { existsSync, readFileSync } from "node:fs";
import { isAlive, WAIT_MS, waitUntil } from "../agents/harness.js";
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

/** Waits until a tool command wrote its pid to `pidFile`, and returns that process's pid, checked alive. */
export async function startedPid(pidFile: string): Promise<number> {
  await waitUntil(() => existsSync(pidFile) && readFileSync(pidFile, "utf8").trim() !== "", "the command started");
  const pid = Number(readFileSync(pidFile, "utf8").trim());
  if (!isAlive(pid)) throw new Error(`the command's process ${pid} is not running`);
  return pid;
}
