import type { ApprovalResponseMessage, QuestionResponseMessage, RequestMessage } from "@runtimeuse/protocol";
import type { LogSink } from "../logger.js";
import type { AbortReason } from "./engine.js";
import { Interaction } from "./interaction.js";
import { runRequest } from "./request.js";
import { RequestAbort, type RequestHost, type RequestSettings } from "./request-run.js";
import { removeUnordered } from "./short-list.js";

interface Runner {
  requestId: number;
  abort: RequestAbort;
  interaction: Interaction;
  done: Promise<void>;
}

/**
 * The requests of one session whose runners have not returned yet: the one
 * in flight and those still winding down after their terminal. Each is
 * aborted by request id; `settled` is called once per runner, after it
 * returned, whatever happened.
 */
export class Runners {
  /** The one in flight and those winding down: a short list (see `removeUnordered`). */
  private readonly running: Runner[] = [];

  constructor(
    private readonly settings: RequestSettings,
    private readonly log: LogSink,
    private readonly settled: (requestId: number) => void,
  ) {}

  start(requestId: number, request: RequestMessage, host: RequestHost): void {
    const abort = new RequestAbort();
    const interaction = new Interaction(
      request.message_type === "invocation_message" ? request : undefined,
      host,
      abort,
    );
    const done = runRequest(request, abort, interaction, host, this.settings).then(
      () => this.returned(requestId),
      (error: unknown) => {
        try {
          this.log.write("error", "request runner failed", { error: String(error) });
        } finally {
          this.returned(requestId);
        }
      },
    );
    this.running.push({ requestId, abort, interaction, done });
  }

  /** The client answered one of the request's approvals or questions. */
  answer(requestId: number, message: ApprovalResponseMessage | QuestionResponseMessage): void {
    this.find(requestId)?.interaction.answer(message);
  }

  /** The client interrupted the request's agent turn. */
  interrupt(requestId: number): void {
    this.find(requestId)?.interaction.interrupt();
  }

  abort(requestId: number, reason: AbortReason): void {
    const runner = this.find(requestId);
    if (runner && !runner.abort.aborted) runner.abort.abort(new Error(`request ${reason}`));
  }

  /** Runners that have not returned yet. */
  get count(): number {
    return this.running.length;
  }

  /** Resolves once every runner running now has returned. */
  async allReturned(): Promise<void> {
    await Promise.all(this.running.map((runner) => runner.done));
  }

  private find(requestId: number): Runner | undefined {
    for (const runner of this.running) if (runner.requestId === requestId) return runner;
    return undefined;
  }

  private returned(requestId: number): void {
    const runner = this.find(requestId);
    if (runner) removeUnordered(this.running, runner);
    this.settled(requestId);
  }
}
