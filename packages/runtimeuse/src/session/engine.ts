import {
  type ApprovalRequestMessage,
  type ApprovalResponseMessage,
  type ArtifactManifestEntry,
  type ArtifactUploadRequestMessage,
  type ArtifactUploadResponseMessage,
  type ClientMessage,
  ErrorCode,
  type ErrorMessage,
  type ParseResult,
  type QuestionRequestMessage,
  type QuestionResponseMessage,
  type RequestMessage,
  type RuntimeMessage,
  type TerminalMessage,
} from "@runtimeuse/protocol";
import { normalizeSecrets } from "../redact/index.js";
import { errorFrame, streamedFrames } from "./frame-limits.js";
import { PromptIds, UsageTotals, unknownAnswer } from "./prompt-ids.js";
import { redactSecrets } from "./redact-message.js";
import { removeUnordered } from "./short-list.js";

/**
 * The per-connection protocol core. It does no I/O: the adapter feeds it what
 * arrived (frames, runner events, clock ticks) and carries out the effects it
 * returns, in order. Every rule of PROTOCOL.md "Requests" lives here:
 *
 * - at most one request in flight; a request arriving while one is in flight is
 *   refused without disturbing it;
 * - exactly one terminal per request, and nothing of that request after it,
 *   whatever its runner still does while winding down;
 * - a request arriving right after a terminal waits for the previous runner to
 *   wind down (bounded by the adapter's timer), instead of being refused;
 * - cancel gives `Request cancelled`; a closed transport aborts the runner;
 * - an approval or question answer goes to the request that asked, once;
 *   any other answer is refused with `response_error_message`, disturbing
 *   nothing; an interrupt reaches only an invocation in flight;
 * - every frame, whatever produced it, is redacted with the connection's secrets.
 */

export type SessionState = "idle" | "running" | "ending" | "closed";

export type AbortReason = "cancelled" | "disconnected" | "error" | "shutdown";

export type SessionEffect =
  | { type: "send"; message: RuntimeMessage }
  | { type: "start"; requestId: number; request: RequestMessage }
  | { type: "abort"; requestId: number; reason: AbortReason }
  | { type: "wait_for_wind_down"; requestId: number }
  | { type: "artifact_response"; message: ArtifactUploadResponseMessage }
  | { type: "answer"; requestId: number; message: ApprovalResponseMessage | QuestionResponseMessage }
  | { type: "interrupt"; requestId: number }
  | { type: "finalize" }
  | { type: "close"; code: number; reason: string }
  | { type: "request_ended"; requestId: number; request: RequestMessage; outcome: string; durationMs: number };

interface InFlight {
  id: number;
  request: RequestMessage;
  receivedAt: number;
  /** False while it waits for the previous runner to wind down. */
  started: boolean;
  phase: string;
  /** An interrupt arrived before the runner started. */
  interrupted?: boolean;
}

export const CANCELLED_ERROR = "Request cancelled";

export interface SessionEngineOptions {
  /** Monotonic clock in milliseconds. */
  now?: () => number;
}

export class SessionEngine {
  private currentState: SessionState = "idle";
  private inFlight: InFlight | undefined;
  /** Runners whose terminal was sent but which have not returned yet (see `removeUnordered`). */
  private readonly windingDown: number[] = [];
  private nextId = 1;
  private secretList: readonly string[] = [];
  private readonly prompts = new PromptIds();
  private readonly usage = new UsageTotals();
  private readonly now: () => number;

  constructor(options: SessionEngineOptions = {}) {
    this.now = options.now ?? (() => performance.now());
  }

  get state(): SessionState {
    return this.currentState;
  }

  /**
   * The connection's secret list: every `secrets_to_redact` accepted so far,
   * distinct, longest first. The one list everything is redacted with: frames
   * (here), logs, command output streams, downloads and what handlers get.
   * Replaced, never mutated, when a request adds to it.
   */
  get secrets(): readonly string[] {
    return this.secretList;
  }

  /** The id of the request in flight (before its terminal), if any. */
  get activeRequestId(): number | undefined {
    return this.inFlight?.id;
  }

  get windingDownCount(): number {
    return this.windingDown.length;
  }

  /** A frame arrived and was parsed at the edge. */
  receive(parsed: ParseResult<ClientMessage>): SessionEffect[] {
    if (this.currentState === "closed") return [];
    if (!parsed.ok) {
      const { code, message, field } = parsed.error;
      return [this.send(errorMessage(message, { code, ...(field === undefined ? {} : { field }) }))];
    }
    const message = parsed.message;
    switch (message.message_type) {
      case "invocation_message":
      case "command_execution_message":
        return this.onRequest(message);
      case "cancel_message":
        return this.inFlight ? this.cancelInFlight(CANCELLED_ERROR, "cancelled") : [];
      case "artifact_upload_response_message":
        return [{ type: "artifact_response", message }];
      case "end_session_message":
        return this.onEndSession();
      case "approval_response_message":
      case "question_response_message":
        return this.onAnswer(message);
      case "interrupt_message": {
        const inFlight = this.inFlight;
        if (inFlight === undefined || inFlight.request.message_type !== "invocation_message") return [];
        // Not started yet (waiting for the previous runner): the runner sees the interrupt when it starts.
        if (!inFlight.started) inFlight.interrupted = true;
        return inFlight.started ? [{ type: "interrupt", requestId: inFlight.id }] : [];
      }
    }
  }

  /**
   * Sends request `requestId`'s approval or question request under a fresh
   * id, which stays open for one answer. Undefined (nothing sent) when the
   * request is not in flight.
   */
  openPrompt(
    requestId: number,
    prompt: Omit<ApprovalRequestMessage, "request_id"> | Omit<QuestionRequestMessage, "request_id">,
  ): { id: string; effects: SessionEffect[] } | undefined {
    if (!this.isLive(requestId)) return undefined;
    const id = this.prompts.create(
      requestId,
      prompt.message_type === "approval_request_message" ? "approval" : "question",
    );
    return { id, effects: [this.send({ ...prompt, request_id: id } as RuntimeMessage)] };
  }

  /** A prompt stopped waiting on its own (its timeout): a later answer to it is refused. */
  closePrompt(id: string): void {
    this.prompts.close(id);
  }

  /** True when an interrupt arrived before the request's runner started. */
  interruptedBeforeStart(requestId: number): boolean {
    return this.inFlight?.id === requestId && this.inFlight.interrupted === true;
  }

  /** A non-terminal message produced by a request's runner. Dropped unless that request is in flight. */
  emit(requestId: number, message: RuntimeMessage): SessionEffect[] {
    const clean = this.emitted(requestId, message);
    if (clean === undefined) return [];
    return (Array.isArray(clean) ? clean : [clean]).map((frame) => ({ type: "send", message: frame }));
  }

  /**
   * `emit` for the adapter's hot path (every streamed message): the message
   * to send, redacted, or undefined when it is dropped. Same rule, no effect
   * objects. A message longer than a client's frame comes as the frames it
   * is spread over (`streamedFrames`), in order.
   */
  emitted(requestId: number, message: RuntimeMessage): RuntimeMessage | RuntimeMessage[] | undefined {
    if (!this.isLive(requestId)) return undefined;
    const clean = redactSecrets(message, this.secretList);
    // Spread after the redaction: a split through a secret would leave both halves.
    return streamedFrames(clean) ?? clean;
  }

  /**
   * A request's runner produced its terminal. Only the first one counts. An
   * error terminal also aborts the runner's signal, so that a handler that
   * called `sendErrorMessage` stops working for nothing.
   */
  terminate(requestId: number, terminal: TerminalMessage): SessionEffect[] {
    const inFlight = this.inFlight;
    if (!this.isLive(requestId) || inFlight === undefined) return [];
    if (terminal.message_type !== "command_execution_result_message") this.usage.add(terminal.metadata);
    const effects: SessionEffect[] = [this.send(terminal)];
    if (terminal.message_type === "error_message") effects.push({ type: "abort", requestId, reason: "error" });
    effects.push(...this.finishInFlight(inFlight, terminal.message_type === "error_message" ? "error" : "ok"));
    return effects;
  }

  /** A request's runner returned: nothing more will come from it. */
  settled(requestId: number): SessionEffect[] {
    removeUnordered(this.windingDown, requestId);
    if (this.inFlight?.id === requestId) {
      // A runner that returns without a terminal is a bug in the runner; the
      // client must still get exactly one terminal.
      return this.terminate(
        requestId,
        errorMessage("The request ended without a result", { code: ErrorCode.InternalError }),
      );
    }
    return this.startQueuedIfReady(false);
  }

  /** The adapter's wind-down timer fired: start the waiting request anyway. */
  windDownExpired(): SessionEffect[] {
    return this.startQueuedIfReady(true);
  }

  /** Records what the in-flight request is doing, for heartbeats. */
  setPhase(requestId: number, phase: string): void {
    if (this.inFlight?.id === requestId) this.inFlight.phase = phase;
  }

  /** A heartbeat tick: a `heartbeat_message` if a request is in flight. */
  heartbeat(): SessionEffect[] {
    const inFlight = this.inFlight;
    if (inFlight === undefined || this.currentState === "closed") return [];
    return [
      this.send({
        message_type: "heartbeat_message",
        phase: inFlight.phase,
        elapsed_ms: Math.max(0, Math.floor(this.now() - inFlight.receivedAt)),
      }),
    ];
  }

  /**
   * The connection's artifact watcher offers a file, during a request or
   * between requests. Redacted like every frame; nothing is offered once the
   * session is closed.
   */
  offerArtifact(offer: Omit<ArtifactUploadRequestMessage, "message_type">): SessionEffect[] {
    if (this.currentState === "closed") return [];
    return [this.send({ message_type: "artifact_upload_request_message", ...offer })];
  }

  /** The adapter finished the end-of-session work (artifacts): confirm, then close. */
  confirmEnd(artifacts?: ArtifactManifestEntry[]): SessionEffect[] {
    if (this.currentState !== "ending") return [];
    this.currentState = "closed";
    const usage = this.usage.value;
    return [
      this.send({
        message_type: "end_session_confirm_message",
        ...(artifacts ? { artifacts } : {}),
        ...(usage ? { usage } : {}),
      }),
      { type: "close", code: 1000, reason: "session ended" },
    ];
  }

  /** The runtime is stopping: the request in flight gets its terminal, then the connection closes. */
  shutdown(): SessionEffect[] {
    if (this.currentState === "closed") return [];
    const effects = this.inFlight
      ? this.cancelInFlight(`${CANCELLED_ERROR}: the runtime is shutting down`, "shutdown")
      : [];
    this.currentState = "closed";
    effects.push({ type: "close", code: 1001, reason: "runtime shutting down" });
    return effects;
  }

  /** The transport closed: abort whatever runs; nothing more is sent. */
  transportClosed(): SessionEffect[] {
    if (this.currentState === "closed" && this.inFlight === undefined) return [];
    this.currentState = "closed";
    const effects: SessionEffect[] = [];
    const inFlight = this.inFlight;
    if (inFlight) {
      this.inFlight = undefined;
      this.prompts.closeRequest(inFlight.id);
      if (inFlight.started) {
        this.windingDown.push(inFlight.id);
        effects.push({ type: "abort", requestId: inFlight.id, reason: "disconnected" });
      }
      effects.push(this.ended(inFlight, "disconnected"));
    }
    return effects;
  }

  private onRequest(request: RequestMessage): SessionEffect[] {
    if (this.currentState === "ending") {
      return [
        this.send(errorMessage("The session is ending: no new request is accepted", { code: ErrorCode.SessionEnding })),
      ];
    }
    if (this.inFlight) {
      return [
        this.send(
          errorMessage(
            `A request is already in flight on this connection (${this.inFlight.request.message_type}); send the next one after its result`,
            { code: ErrorCode.RequestInFlight },
          ),
        ),
      ];
    }
    if (!this.knowsAll(request.secrets_to_redact)) {
      this.secretList = normalizeSecrets([...this.secretList, ...request.secrets_to_redact]);
    }
    const inFlight: InFlight = {
      id: this.nextId++,
      request,
      receivedAt: this.now(),
      started: false,
      phase: "waiting",
    };
    this.inFlight = inFlight;
    this.currentState = "running";
    if (this.windingDown.length > 0) return [{ type: "wait_for_wind_down", requestId: inFlight.id }];
    return this.startQueuedIfReady(true);
  }

  private onEndSession(): SessionEffect[] {
    if (this.currentState === "ending") return [];
    const effects = this.inFlight ? this.cancelInFlight(CANCELLED_ERROR, "cancelled") : [];
    this.currentState = "ending";
    effects.push({ type: "finalize" });
    return effects;
  }

  private cancelInFlight(error: string, reason: AbortReason): SessionEffect[] {
    const inFlight = this.inFlight;
    if (inFlight === undefined) return [];
    const effects: SessionEffect[] = [this.send(errorMessage(error, { code: ErrorCode.Cancelled }))];
    if (inFlight.started) effects.push({ type: "abort", requestId: inFlight.id, reason });
    effects.push(...this.finishInFlight(inFlight, reason));
    return effects;
  }

  private onAnswer(message: ApprovalResponseMessage | QuestionResponseMessage): SessionEffect[] {
    const kind = message.message_type === "approval_response_message" ? "approval" : "question";
    const requestId = this.prompts.take(message.request_id, kind);
    if (requestId === undefined || !this.isLive(requestId)) return [this.send(unknownAnswer(message.request_id, kind))];
    return [{ type: "answer", requestId, message }];
  }

  private finishInFlight(inFlight: InFlight, outcome: string): SessionEffect[] {
    this.inFlight = undefined;
    this.prompts.closeRequest(inFlight.id);
    if (inFlight.started) this.windingDown.push(inFlight.id);
    if (this.currentState === "running") this.currentState = "idle";
    return [this.ended(inFlight, outcome)];
  }

  private startQueuedIfReady(force: boolean): SessionEffect[] {
    const inFlight = this.inFlight;
    if (inFlight === undefined || inFlight.started) return [];
    if (!force && this.windingDown.length > 0) return [];
    inFlight.started = true;
    inFlight.phase = "starting";
    return [{ type: "start", requestId: inFlight.id, request: inFlight.request }];
  }

  /** Every secret of `secrets` is in the list already (a client usually sends the same ones each request). */
  private knowsAll(secrets: readonly string[]): boolean {
    for (const secret of secrets) if (secret.length > 0 && !this.secretList.includes(secret)) return false;
    return true;
  }

  private isLive(requestId: number): boolean {
    return this.inFlight?.id === requestId && this.inFlight.started && this.currentState !== "closed";
  }

  private ended(inFlight: InFlight, outcome: string): SessionEffect {
    return {
      type: "request_ended",
      requestId: inFlight.id,
      request: inFlight.request,
      outcome,
      durationMs: this.now() - inFlight.receivedAt,
    };
  }

  private send(message: RuntimeMessage): SessionEffect {
    const clean = redactSecrets(message, this.secretList);
    // Cut after the redaction: a cut through a secret would leave part of it.
    return { type: "send", message: clean.message_type === "error_message" ? errorFrame(clean) : clean };
  }
}

export function errorMessage(error: string, metadata: Record<string, unknown> = {}): ErrorMessage {
  return { message_type: "error_message", error, metadata };
}
