import {
  type ApprovalPolicy,
  type ApprovalRequestMessage,
  type ApprovalResponseMessage,
  type InvocationMessage,
  type QuestionRequestMessage,
  type QuestionResponseMessage,
  validateRuntimeMessage,
} from "@runtimeuse/protocol";
import type { ApprovalDecision, ApprovalRequest, Question, QuestionAnswer } from "../handler.js";
import { plainJson } from "../json-text.js";
import { afterDelay } from "../timer.js";
import type { RequestAbort } from "./request-run.js";
import { policyCovers, toolKindOf } from "./tool-kinds.js";

/** What the interaction needs from its connection (through the engine). */
export interface PromptHost {
  /** Sends the prompt under a fresh id; undefined when the request is no longer in flight. */
  openPrompt(
    prompt: Omit<ApprovalRequestMessage, "request_id"> | Omit<QuestionRequestMessage, "request_id">,
  ): string | undefined;
  /** The prompt stopped waiting by itself (its timeout). */
  closePrompt(id: string): void;
  setPhase(phase: string): void;
}

type Answer = ApprovalResponseMessage | QuestionResponseMessage;
type Prompt = Omit<ApprovalRequestMessage, "request_id"> | Omit<QuestionRequestMessage, "request_id">;
type Ending = "timeout" | "interrupt" | "cancel";

interface Waiting {
  resolve(answer: Answer | Ending): void;
}

/** The phase heartbeats show while an approval or an answer is awaited. */
export const AWAITING_APPROVAL_PHASE = "awaiting_approval";
export const AWAITING_ANSWER_PHASE = "awaiting_answer";

/**
 * A request's person in the loop: its approval policy, the approvals and
 * questions waiting for the client, and its interrupt. One per request.
 *
 * Contract: every wait ends exactly once, with the client's answer, the
 * approval timeout, an interrupt or the end of the request (`abort`); none
 * rejects. No time limit unless the invocation set `approval_timeout_ms`.
 */
export class Interaction {
  readonly policy: ApprovalPolicy;
  private readonly timeoutMs: number | undefined;
  readonly allowQuestions: boolean;
  /** Created by the first prompt: most requests never ask anything. */
  private waitingById: Map<string, Waiting> | undefined;
  private interruptController: AbortController | undefined;
  private interruptedFlag = false;
  /** Set once the agent's turn is over: a later interrupt changes nothing. */
  private turnOver = false;

  constructor(
    request: InvocationMessage | undefined,
    private readonly host: PromptHost,
    private readonly abort: RequestAbort,
  ) {
    const policy = request?.approval_policy ?? "never";
    this.policy = Array.isArray(policy) && policy.length === 0 ? "never" : policy;
    this.timeoutMs = request?.approval_timeout_ms;
    this.allowQuestions = request?.allow_questions === true;
  }

  get interrupted(): boolean {
    return this.interruptedFlag;
  }

  /** Created on first read, like the request's abort signal. */
  get interruptSignal(): AbortSignal {
    if (this.interruptController === undefined) {
      this.interruptController = new AbortController();
      if (this.interruptedFlag) this.interruptController.abort(new Error("interrupted"));
    }
    return this.interruptController.signal;
  }

  /** The client interrupted. Ignored once the turn is over; true when it took effect. */
  interrupt(): boolean {
    if (this.turnOver || this.interruptedFlag) return false;
    this.interruptedFlag = true;
    this.interruptController?.abort(new Error("interrupted"));
    for (const wait of [...(this.waitingById?.values() ?? [])]) wait.resolve("interrupt");
    return true;
  }

  /** The agent returned: interrupts from now on are ignored. */
  endTurn(): void {
    this.turnOver = true;
  }

  /** The client's answer to one of this request's prompts (the engine checked the id). */
  answer(message: Answer): void {
    this.waitingById?.get(message.request_id)?.resolve(message);
  }

  needsApproval(toolName: string, toolKind = toolKindOf(toolName)): boolean {
    return policyCovers(this.policy, toolName, toolKind);
  }

  async requestApproval(request: ApprovalRequest): Promise<ApprovalDecision> {
    const kind = request.toolKind ?? toolKindOf(request.toolName);
    if (!policyCovers(this.policy, request.toolName, kind)) return { decision: "allow", by: "policy" };
    const outcome = await this.wait(
      AWAITING_APPROVAL_PHASE,
      sendablePrompt("requestApproval", {
        message_type: "approval_request_message",
        tool_name: request.toolName,
        tool_kind: kind,
        input: request.input,
        ...(request.reason === undefined ? {} : { reason: request.reason }),
      }),
    );
    if (typeof outcome === "string") return { decision: "deny", by: outcome, message: denial(outcome, this.timeoutMs) };
    const answer = outcome as ApprovalResponseMessage;
    if (answer.decision === "allow") return { decision: "allow", by: "client" };
    const note = answer.message?.trim();
    return { decision: "deny", by: "client", message: `The user denied this tool call${note ? `: ${note}` : "."}` };
  }

  async ask(question: Question): Promise<QuestionAnswer> {
    if (!this.allowQuestions) {
      return { answered: false, by: "not_allowed", message: "No one can answer questions in this session." };
    }
    const outcome = await this.wait(
      AWAITING_ANSWER_PHASE,
      sendablePrompt("ask", {
        message_type: "question_request_message",
        question: question.question,
        ...(question.header === undefined ? {} : { header: question.header }),
        ...(question.options === undefined ? {} : { options: question.options }),
        ...(question.multiSelect === undefined ? {} : { multi_select: question.multiSelect }),
      }),
    );
    if (typeof outcome === "string")
      return { answered: false, by: outcome, message: unanswered(outcome, this.timeoutMs) };
    return { answered: true, answer: (outcome as QuestionResponseMessage).answer };
  }

  private async wait(phase: string, prompt: Prompt): Promise<Answer | Ending> {
    if (this.interruptedFlag) return "interrupt";
    if (this.abort.aborted) return "cancel";
    const id = this.host.openPrompt(prompt);
    if (id === undefined) return "cancel";
    this.host.setPhase(phase);
    let cancelTimer: (() => void) | undefined;
    const signal = this.abort.signal;
    let onAbort: (() => void) | undefined;
    this.waitingById ??= new Map();
    const waiting = this.waitingById;
    try {
      return await new Promise<Answer | Ending>((resolve) => {
        waiting.set(id, { resolve });
        if (this.timeoutMs !== undefined) {
          cancelTimer = afterDelay(this.timeoutMs, () => {
            this.host.closePrompt(id);
            resolve("timeout");
          });
        }
        onAbort = () => resolve("cancel");
        signal.addEventListener("abort", onAbort, { once: true });
      });
    } finally {
      cancelTimer?.();
      if (onAbort) signal.removeEventListener("abort", onAbort);
      waiting.delete(id);
      this.host.closePrompt(id);
      // Prompts are made while the agent runs; its phase comes back once none waits.
      if (waiting.size === 0) this.host.setPhase("agent");
    }
  }
}

/**
 * The prompt as sent, checked against its schema: a handler's tool input or
 * question that is not a valid frame (a BigInt, a cycle, a question that is
 * no string) is refused with a `TypeError` naming the method and the field,
 * before the client is asked anything.
 */
function sendablePrompt<P extends Prompt>(method: string, prompt: P): P {
  const plain = plainJson(prompt);
  if (!plain.ok) throw new TypeError(`${method}: the prompt cannot be sent as JSON: ${plain.reason}`);
  const checked = validateRuntimeMessage({ ...(plain.value as P), request_id: "check" });
  if (!checked.ok) throw new TypeError(`${method}: ${checked.error.message}`);
  return plain.value as P;
}

function denial(by: Ending, timeoutMs: number | undefined): string {
  if (by === "timeout") return `The tool call was denied: the user gave no answer within ${timeoutMs} ms.`;
  if (by === "interrupt") return "The tool call was denied: the user interrupted the turn.";
  return "The tool call was denied: the request was cancelled.";
}

function unanswered(by: Ending, timeoutMs: number | undefined): string {
  if (by === "timeout") return `The user did not answer within ${timeoutMs} ms.`;
  if (by === "interrupt") return "The user interrupted the turn before answering.";
  return "The request was cancelled before the user answered.";
}
