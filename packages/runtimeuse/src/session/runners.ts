import type { ApprovalResponseMessage, QuestionResponseMessage, RequestMessage } from "@runtimeuse/protocol";
import type { LogSink } from "../logger.js";
import type { AbortReason } from "./engine.js";
import { Interaction } from "./interaction.js";
import { RequestAbort, type RequestHost, type RequestSettings, runRequest } from "./request.js";

interface Runner {
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
  private readonly running = new Map<number, Runner>();

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
    const done = runRequest(request, abort, interaction, host, this.settings)
      .catch((error) => this.log.write("error", "request runner failed", { error: String(error) }))
      .finally(() => {
        this.running.delete(requestId);
        this.settled(requestId);
      });
    this.running.set(requestId, { abort, interaction, done });
  }

  /** The client answered one of the request's approvals or questions. */
  answer(requestId: number, message: ApprovalResponseMessage | QuestionResponseMessage): void {
    this.running.get(requestId)?.interaction.answer(message);
  }

  /** The client interrupted the request's agent turn. */
  interrupt(requestId: number): void {
    this.running.get(requestId)?.interaction.interrupt();
  }

  abort(requestId: number, reason: AbortReason): void {
    const runner = this.running.get(requestId);
    if (runner && !runner.abort.aborted) runner.abort.abort(new Error(`request ${reason}`));
  }

  /** Resolves once every runner running now has returned. */
  async allReturned(): Promise<void> {
    await Promise.all([...this.running.values()].map((runner) => runner.done));
  }
}
