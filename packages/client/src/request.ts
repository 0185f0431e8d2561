import type { ParsedRuntimeMessage, RequestMessage } from "@runtimeuse/protocol";
import { type Channel, TIMED_OUT } from "./channel.js";
import { AgentRuntimeError, CancelledError, ConnectionError, ProtocolViolationError } from "./errors.js";
import { buildArtifactResponse, CANCEL } from "./messages.js";
import { type Bound, boundAfter, earliest, now, raceBound, timeoutError } from "./timing.js";
import type { AssistantMessageEvent, CommandOutputEvent, HeartbeatEvent, OnArtifactUploadRequest } from "./types.js";

export type Expected = "result_message" | "command_execution_result_message";
export type TerminalOf<T extends Expected> = Extract<ParsedRuntimeMessage, { message_type: T }>;

export interface RequestCallbacks {
  onAssistantMessage?: ((event: AssistantMessageEvent) => unknown) | undefined;
  onCommandOutput?: ((event: CommandOutputEvent) => unknown) | undefined;
  onHeartbeat?: ((event: HeartbeatEvent) => unknown) | undefined;
  onArtifactUploadRequest?: OnArtifactUploadRequest | undefined;
}

export interface RequestPlan<T extends Expected> {
  message: RequestMessage;
  expect: T;
  /** "Query" or "Command execution", for messages. */
  label: string;
  callbacks: RequestCallbacks;
  /** The overall `timeout`: from the call (one-shot) or from the call's turn (session). */
  deadline: Bound | undefined;
  idleTimeout: number | undefined;
  assistantCallbackTimeout: number | undefined;
  artifactUploadCallbackTimeout: number | undefined;
  signal: AbortSignal;
  drainTimeout: number;
  /**
   * Sessions: after a timeout, keep consuming in the background until the
   * abandoned request's terminal, so the next request reads its own answer.
   * One-shot calls close the connection instead.
   */
  keepInStep: boolean;
}

/**
 * Runs one request over an open channel and returns its terminal.
 *
 * Ordering contract (the runtime sends exactly one terminal per request):
 * whatever ends the request on this side — `abort()`/signal, a callback that
 * throws or overruns — sends `cancel_message` and keeps reading until the
 * runtime's terminal (bounded by `drainTimeout`), with callbacks suppressed,
 * so a session is in step for its next request; then the reason is thrown.
 * A timeout throws at once, and the channel drains in the background.
 */
export async function runRequest<T extends Expected>(channel: Channel, plan: RequestPlan<T>): Promise<TerminalOf<T>> {
  if (plan.signal.aborted) throw new CancelledError(`${plan.label} was cancelled`, plan.signal.reason);
  channel.send(plan.message);
  let stop: { error: unknown; drainUntil: number } | undefined;
  const halt = (error: unknown) => {
    if (stop) return;
    stop = { error, drainUntil: now() + plan.drainTimeout };
    channel.trySend(CANCEL);
    // A read waiting under the request's own deadlines must now wait under drainTimeout.
    channel.interrupt();
  };
  const onAbort = () => halt(new CancelledError(`${plan.label} was cancelled`, plan.signal.reason));
  plan.signal.addEventListener("abort", onAbort, { once: true });

  const abandon = (bound: Bound): never => {
    channel.trySend(CANCEL);
    if (plan.keepInStep) channel.drainInBackground(plan.drainTimeout);
    throw timeoutError(bound);
  };

  /** Runs a callback within its own limit and the overall deadline; a failure stops the request (see above). */
  const call = async (fn: () => unknown, limit: Bound | undefined): Promise<unknown> => {
    const outcome = await raceBound(Promise.resolve().then(fn), earliest(limit, plan.deadline));
    if (outcome.ok === true) return outcome.value;
    if (outcome.ok === "timeout") {
      if (outcome.bound.which === "timeout") abandon(outcome.bound);
      halt(timeoutError(outcome.bound));
    } else {
      halt(outcome.error);
    }
    return undefined;
  };

  try {
    for (;;) {
      const bound = stop ? undefined : earliest(plan.deadline, boundAfter("idleTimeout", plan.idleTimeout));
      let message: ParsedRuntimeMessage | typeof TIMED_OUT;
      try {
        message = await channel.next(stop ? stop.drainUntil : bound?.at);
      } catch (error) {
        // The connection ended; the runtime treats that as a cancel, so a stop reason still stands.
        if (stop) throw stop.error;
        throw error;
      }
      if (message === TIMED_OUT) {
        if (!stop) return abandon(bound as Bound);
        if (now() < stop.drainUntil) continue;
        channel.fail(
          new ConnectionError(
            `the runtime did not end the cancelled request within drainTimeout (${plan.drainTimeout} ms); the connection was closed`,
          ),
        );
        throw stop.error;
      }
      switch (message.message_type) {
        case "error_message":
          if (stop) throw stop.error;
          throw new AgentRuntimeError(message.error, message.metadata);
        case "result_message":
        case "command_execution_result_message":
          if (message.message_type !== plan.expect) {
            throw unexpected(channel, `${message.message_type} in answer to ${plan.message.message_type}`);
          }
          if (stop) throw stop.error;
          return message as TerminalOf<T>;
        case "end_session_confirm_message":
          throw unexpected(channel, "end_session_confirm_message while a request was in flight");
      }
      // Callbacks and artifact handshakes belong to a live request only.
      if (stop) continue;
      const { callbacks } = plan;
      switch (message.message_type) {
        case "assistant_message": {
          const fn = callbacks.onAssistantMessage;
          if (fn) {
            const event: AssistantMessageEvent = { type: "assistant_message", textBlocks: message.text_blocks };
            await call(() => fn(event), boundAfter("assistantCallbackTimeout", plan.assistantCallbackTimeout));
          }
          break;
        }
        case "command_output_message": {
          const fn = callbacks.onCommandOutput;
          const { stream, text, command } = message;
          if (fn) await call(() => fn({ type: "command_output", stream, text, command }), undefined);
          break;
        }
        case "heartbeat_message": {
          const fn = callbacks.onHeartbeat;
          const event: HeartbeatEvent = { type: "heartbeat", phase: message.phase, elapsedMs: message.elapsed_ms };
          if (fn) await call(() => fn(event), undefined);
          break;
        }
        case "artifact_upload_request_message": {
          const fn = callbacks.onArtifactUploadRequest;
          // With no callback there is nothing to answer with; the runtime leaves the file unuploaded.
          if (!fn) break;
          const request = { filename: message.filename, filepath: message.filepath };
          const limit = boundAfter("artifactUploadCallbackTimeout", plan.artifactUploadCallbackTimeout);
          await call(async () => channel.send(buildArtifactResponse(request, await fn(request))), limit);
          break;
        }
      }
    }
  } finally {
    plan.signal.removeEventListener("abort", onAbort);
  }
}

function unexpected(channel: Channel, what: string): ProtocolViolationError {
  const error = new ProtocolViolationError(`the runtime sent ${what}`, { code: "unexpected_message" });
  channel.fail(error);
  channel.markReported();
  return error;
}
