import { ClientErrorCode } from "@runtimeuse/protocol";
import { type RuntimeChannel, TIMED_OUT } from "./channel.js";
import { ConnectionError } from "./errors.js";
import { now } from "./timing.js";
import type { Expected, RequestTracker } from "./tracker.js";

/** The connection's end when the runtime does not end a request this side stopped within `drainTimeout`. */
export function outOfStep(drainTimeoutMs: number): ConnectionError {
  return new ConnectionError(
    `the runtime did not end the cancelled request within drainTimeout (${drainTimeoutMs} ms); the connection was closed`,
    { code: ClientErrorCode.SessionOutOfStep },
  );
}

/**
 * After a session request was abandoned (a timeout), reads the rest of it in
 * the background with its tracker stopped, so nothing is delivered or
 * answered, up to its terminal; the session's next reader waits for this
 * (`channel.settled()`). Without a terminal within `drainTimeoutMs`, the
 * connection is closed.
 */
export function drainInBackground<T extends Expected>(
  channel: RuntimeChannel,
  tracker: RequestTracker<T>,
  drainTimeoutMs: number,
): void {
  const until = now() + drainTimeoutMs;
  channel.inBackground(async () => {
    for (;;) {
      let message: Awaited<ReturnType<RuntimeChannel["next"]>>;
      try {
        message = await channel.next(until, true);
      } catch {
        // The connection ended; the next call or close() reports why.
        return;
      }
      if (message === TIMED_OUT) {
        channel.fail(outOfStep(drainTimeoutMs));
        return;
      }
      const action = tracker.receive(message);
      if (action.type !== "finish") continue;
      if (!action.ok && action.violation) channel.fail(action.violation);
      return;
    }
  });
}
