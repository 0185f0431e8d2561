import type { ClientMessage, ParsedRuntimeMessage, RequestMessage } from "@runtimeuse/protocol";
import { answerOffer } from "./artifact-answer.js";
import { type RuntimeChannel, TIMED_OUT } from "./channel.js";
import { drainInBackground, outOfStep } from "./drain.js";
import { CancelledError } from "./errors.js";
import { buildApprovalResponse, buildQuestionResponse, CANCEL, INTERRUPT } from "./messages.js";
import { type Bound, boundAfter, earliest, now, type Raced, raceBound, timeoutError } from "./timing.js";
import { type Expected, type Finish, type ProgressEvent, RequestTracker, type TerminalOf } from "./tracker.js";
import type {
  AssistantMessageEvent,
  CommandOutputEvent,
  HeartbeatEvent,
  OnApprovalRequest,
  OnArtifactUploadRequest,
  OnQuestion,
} from "./types.js";

export type { Expected, TerminalOf } from "./tracker.js";

export interface RequestCallbacks {
  onAssistantMessage?: ((event: AssistantMessageEvent) => unknown) | undefined;
  onCommandOutput?: ((event: CommandOutputEvent) => unknown) | undefined;
  onHeartbeat?: ((event: HeartbeatEvent) => unknown) | undefined;
  onArtifactUploadRequest?: OnArtifactUploadRequest | undefined;
  onApprovalRequest?: OnApprovalRequest | undefined;
  onQuestion?: OnQuestion | undefined;
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
  /** Fires on the caller's `interrupt()`: the runtime is sent `interrupt_message` while the request runs. */
  interruptSignal?: AbortSignal | undefined;
  drainTimeout: number;
  /**
   * Sessions: after a timeout, keep consuming in the background until the
   * abandoned request's terminal, so the next request reads its own answer.
   * One-shot calls close the connection instead.
   */
  keepInStep: boolean;
}

/**
 * Runs one request over an open channel and returns its terminal: the driver
 * of a `RequestTracker`, which decides what each message means. This adds the
 * time limits, the channel reads and the callbacks.
 *
 * Ordering contract (the runtime sends exactly one terminal per request):
 * whatever stops the request on this side — `abort()`/signal, a callback that
 * throws or overruns — sends `cancel_message` and keeps reading until the
 * runtime's terminal (bounded by `drainTimeout`), with callbacks silenced, so
 * a session is in step for its next request; then the reason is thrown.
 * A timeout throws at once, and the channel drains in the background.
 */
export async function runRequest<T extends Expected>(
  channel: RuntimeChannel,
  plan: RequestPlan<T>,
): Promise<TerminalOf<T>> {
  if (plan.signal.aborted) throw new CancelledError(`${plan.label} was cancelled`, plan.signal.reason);
  const tracker = new RequestTracker(plan.message.message_type, plan.expect);
  channel.send(plan.message);
  /** Set once the request is stopped: how long the runtime has to send its terminal. */
  let drainUntil: number | undefined;
  const stop = (reason: unknown) => {
    if (!tracker.stop(reason)) return;
    drainUntil = now() + plan.drainTimeout;
    channel.trySend(CANCEL);
    // A read waiting under the request's own deadlines must now wait under drainTimeout.
    channel.interrupt();
  };
  const onAbort = () => stop(new CancelledError(`${plan.label} was cancelled`, plan.signal.reason));
  plan.signal.addEventListener("abort", onAbort, { once: true });
  // An interrupt is for the agent's turn only: sent once, while the request still runs.
  const onInterrupt = () => {
    if (tracker.state === "running" && plan.message.message_type === "invocation_message") channel.trySend(INTERRUPT);
  };
  const interruptSignal = plan.interruptSignal;
  if (interruptSignal?.aborted) onInterrupt();
  else interruptSignal?.addEventListener("abort", onInterrupt, { once: true });

  const abandon = (bound: Bound): never => {
    const error = timeoutError(bound);
    if (tracker.stop(error)) channel.trySend(CANCEL);
    if (plan.keepInStep) drainInBackground(channel, tracker, plan.drainTimeout);
    throw error;
  };

  /** A callback's outcome: a failure or an overrun stops the request (see above). */
  const settleCallback = (outcome: Raced<unknown>): void => {
    if (outcome.ok === false) stop(outcome.error);
    else if (outcome.ok === "timeout") {
      if (outcome.bound.which === "timeout") abandon(outcome.bound);
      stop(timeoutError(outcome.bound));
    }
  };

  const call = async (fn: () => unknown, limit: Bound | undefined): Promise<void> => {
    settleCallback(await raceBound(Promise.resolve().then(fn), earliest(limit, plan.deadline)));
  };

  const deliver = async (event: ProgressEvent): Promise<void> => {
    const { callbacks } = plan;
    switch (event.type) {
      case "assistant_message": {
        const fn = callbacks.onAssistantMessage;
        if (fn) await call(() => fn(event), boundAfter("assistantCallbackTimeout", plan.assistantCallbackTimeout));
        return;
      }
      case "command_output": {
        const fn = callbacks.onCommandOutput;
        if (fn) await call(() => fn(event), undefined);
        return;
      }
      case "heartbeat": {
        const fn = callbacks.onHeartbeat;
        if (fn) await call(() => fn(event), undefined);
        return;
      }
    }
  };

  /**
   * Runs an approval or question callback (no limit of its own but the
   * call's deadline) and sends its answer, unless the request stopped
   * meanwhile. A callback that throws or gives an unusable answer stops the
   * request like any callback.
   */
  const answerPrompt = async (fn: () => unknown, build: (answer: unknown) => ClientMessage): Promise<void> => {
    // A person may take long to decide: an abort must not wait for them.
    let stopWaiting = () => {};
    const aborted = new Promise<undefined>((resolve) => {
      stopWaiting = () => resolve(undefined);
      plan.signal.addEventListener("abort", stopWaiting, { once: true });
    });
    const answered = Promise.resolve()
      .then(fn)
      .then((answer) => build(answer));
    const outcome = await raceBound(Promise.race([answered, aborted]), plan.deadline);
    plan.signal.removeEventListener("abort", stopWaiting);
    if (outcome.ok === true) {
      if (outcome.value !== undefined && tracker.state === "running") channel.trySend(outcome.value);
      return;
    }
    settleCallback(outcome);
  };

  const reconnectsBefore = channel.reconnects;
  const finish = (action: Finish<T>): TerminalOf<T> => {
    if (action.ok) return withReconnects(action.terminal, channel.reconnects - reconnectsBefore);
    if (action.violation) {
      channel.fail(action.violation);
      if (action.error === action.violation) channel.markReported();
    }
    throw action.error;
  };

  try {
    for (;;) {
      const bound =
        drainUntil === undefined ? earliest(plan.deadline, boundAfter("idleTimeout", plan.idleTimeout)) : undefined;
      let message: ParsedRuntimeMessage | typeof TIMED_OUT;
      try {
        message = await channel.next(drainUntil ?? bound?.at);
      } catch (error) {
        // The connection ended (the runtime treats that as a cancel), or a frame failed validation.
        return finish(tracker.ended(error));
      }
      if (message === TIMED_OUT) {
        if (drainUntil === undefined) return abandon(bound as Bound);
        if (now() < drainUntil) continue;
        const error = outOfStep(plan.drainTimeout);
        channel.fail(error);
        return finish(tracker.ended(error));
      }
      const action = tracker.receive(message);
      switch (action.type) {
        case "finish":
          return finish(action);
        case "deliver":
          await deliver(action.event);
          break;
        case "answer": {
          // With no callback there is nothing to answer with; the runtime leaves the file unuploaded.
          const callback = plan.callbacks.onArtifactUploadRequest;
          if (!callback) break;
          const limit = boundAfter("artifactUploadCallbackTimeout", plan.artifactUploadCallbackTimeout);
          settleCallback(await answerOffer(channel, callback, action.offer, earliest(limit, plan.deadline)));
          break;
        }
        case "approve": {
          // With no callback, the runtime asked for nothing it can get: the request is refused the tool.
          const callback = plan.callbacks.onApprovalRequest;
          const { requestId } = action.request;
          await answerPrompt(
            callback
              ? () => callback(action.request)
              : () => ({ decision: "deny", message: "no one is there to approve it" }),
            (answer) => buildApprovalResponse(requestId, answer),
          );
          break;
        }
        case "question": {
          const callback = plan.callbacks.onQuestion;
          const { requestId } = action.question;
          await answerPrompt(callback ? () => callback(action.question) : () => "", (answer) =>
            buildQuestionResponse(requestId, answer),
          );
          break;
        }
      }
    }
  } finally {
    plan.signal.removeEventListener("abort", onAbort);
    interruptSignal?.removeEventListener("abort", onInterrupt);
  }
}

/** A query's result with the number of resumes during the request in its metadata, when there were any. */
function withReconnects<T extends Expected>(terminal: TerminalOf<T>, reconnects: number): TerminalOf<T> {
  const message = terminal as ParsedRuntimeMessage;
  if (reconnects === 0 || message.message_type !== "result_message") return terminal;
  return { ...message, metadata: { ...message.metadata, reconnects } } as TerminalOf<T>;
}
