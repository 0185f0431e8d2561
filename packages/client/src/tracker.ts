import { ClientErrorCode, type ParsedRuntimeMessage, type RequestMessage } from "@runtimeuse/protocol";
import { AgentRuntimeError, ProtocolViolationError } from "./errors.js";
import type {
  ApprovalRequest,
  ArtifactUploadRequest,
  AssistantMessageEvent,
  CommandOutputEvent,
  HeartbeatEvent,
  QuestionRequest,
} from "./types.js";

/**
 * The rules of one request, with no I/O (docs/PROTOCOL.md, "Clients"): the
 * tracker is fed each validated message the runtime sends for the request and
 * answers with what the client does about it. The driver (`request.ts`) owns
 * the timers, the channel and the callbacks; the channel owns the connection.
 * The tracker never sees a connection, so a channel that reconnects and
 * replays underneath leaves these rules unchanged.
 *
 * In short: the first terminal ends the request, and nothing after it belongs
 * to it; a terminal of the wrong kind or an end-session confirm is a protocol
 * violation, after which the connection cannot be trusted; once this side
 * stops the request (abort, a failing callback, a timeout) nothing more is
 * delivered or answered, and the request ends with that reason whatever ends
 * it.
 */

export type Expected = "result_message" | "command_execution_result_message";
export type TerminalOf<T extends Expected> = Extract<ParsedRuntimeMessage, { message_type: T }>;

export type ProgressEvent = AssistantMessageEvent | CommandOutputEvent | HeartbeatEvent;

/**
 * The request is over. A failed one carries `violation` when the runtime
 * broke the protocol: the connection must be closed with it (a session ends),
 * whether or not `error` (what the call rejects with) is that violation.
 */
export type Finish<T extends Expected> =
  | { type: "finish"; ok: true; terminal: TerminalOf<T> }
  | { type: "finish"; ok: false; error: unknown; violation?: ProtocolViolationError };

export type Action<T extends Expected> =
  /** Pass a progress event to its callback. */
  | { type: "deliver"; event: ProgressEvent }
  /** Ask the artifact callback for an upload target and send it back. */
  | { type: "answer"; offer: ArtifactUploadRequest }
  /** Ask the approval callback for a decision and send it back. */
  | { type: "approve"; request: ApprovalRequest }
  /** Ask the question callback for an answer and send it back. */
  | { type: "question"; question: QuestionRequest }
  /** Nothing to do. */
  | { type: "skip" }
  | Finish<T>;

/** `stopping`: this side gave up on the request and waits for its terminal. */
export type RequestState = "running" | "stopping" | "finished";

const SKIP = { type: "skip" } as const;

export class RequestTracker<T extends Expected> {
  #state: RequestState = "running";
  #stopReason: unknown;

  constructor(
    private readonly request: RequestMessage["message_type"],
    private readonly expect: T,
  ) {}

  get state(): RequestState {
    return this.#state;
  }

  /**
   * This side gives up on the request with `reason`. True the first time,
   * when the runtime must be sent `cancel_message`; false once it is stopping
   * or finished.
   */
  stop(reason: unknown): boolean {
    if (this.#state !== "running") return false;
    this.#state = "stopping";
    this.#stopReason = reason;
    return true;
  }

  receive(message: ParsedRuntimeMessage): Action<T> {
    if (this.#state === "finished") throw new Error("RequestTracker: a message after the request finished");
    switch (message.message_type) {
      case "error_message":
        return this.#fail(new AgentRuntimeError(message.error, message.metadata));
      case "result_message":
      case "command_execution_result_message":
        if (message.message_type !== this.expect) {
          return this.#violation(`${message.message_type} in answer to ${this.request}`);
        }
        if (this.#state === "stopping") return this.#fail(undefined);
        this.#state = "finished";
        return { type: "finish", ok: true, terminal: message as TerminalOf<T> };
      case "end_session_confirm_message":
        return this.#violation("end_session_confirm_message while a request was in flight");
    }
    // The runtime refused an answer that came too late (or twice): it changes nothing here.
    if (message.message_type === "response_error_message") return SKIP;
    // Callbacks and artifact handshakes belong to a live request only.
    if (this.#state === "stopping") return SKIP;
    switch (message.message_type) {
      case "assistant_message":
        return { type: "deliver", event: { type: "assistant_message", textBlocks: message.text_blocks } };
      case "command_output_message": {
        const { stream, text, command } = message;
        return { type: "deliver", event: { type: "command_output", stream, text, command } };
      }
      case "heartbeat_message":
        return { type: "deliver", event: { type: "heartbeat", phase: message.phase, elapsedMs: message.elapsed_ms } };
      case "artifact_upload_request_message":
        return { type: "answer", offer: { filename: message.filename, filepath: message.filepath } };
      case "approval_request_message":
        return {
          type: "approve",
          request: {
            requestId: message.request_id,
            toolName: message.tool_name,
            toolKind: message.tool_kind,
            input: message.input,
            ...(message.reason === undefined ? {} : { reason: message.reason }),
          },
        };
      case "question_request_message":
        return {
          type: "question",
          question: {
            requestId: message.request_id,
            question: message.question,
            ...(message.header === undefined ? {} : { header: message.header }),
            ...(message.options === undefined
              ? {}
              : {
                  options: message.options.map((option) => ({
                    label: option.label,
                    ...(option.description === undefined ? {} : { description: option.description }),
                  })),
                }),
            ...(message.multi_select === undefined ? {} : { multiSelect: message.multi_select }),
          },
        };
    }
  }

  /**
   * The message stream ended before a terminal: `reason` is the channel's
   * (the connection closed, or a frame failed validation and it was closed).
   */
  ended(reason: unknown): Finish<T> {
    if (this.#state === "finished") throw new Error("RequestTracker: the request already finished");
    return this.#fail(reason);
  }

  /** Ends the request with `error`, or with the stop reason once stopping. */
  #fail(error: unknown, violation?: ProtocolViolationError): Finish<T> {
    const reason = this.#state === "stopping" ? this.#stopReason : error;
    this.#state = "finished";
    return violation
      ? { type: "finish", ok: false, error: reason, violation }
      : { type: "finish", ok: false, error: reason };
  }

  #violation(what: string): Finish<T> {
    const violation = new ProtocolViolationError(`the runtime sent ${what}`, {
      code: ClientErrorCode.UnexpectedMessage,
    });
    return this.#fail(violation, violation);
  }
}
