import { ClientErrorCode } from "@runtimeuse/protocol";
import { answerOffer } from "./artifact-answer.js";
import { type RuntimeChannel, TIMED_OUT } from "./channel.js";
import { ProtocolViolationError } from "./errors.js";
import type { OnArtifactUploadRequest } from "./types.js";

/**
 * Reads a session's connection while no request is in flight
 * (docs/PROTOCOL.md, "Clients"). The runtime may still offer artifacts then
 * (files that appear after a terminal): they are answered at once with the
 * session's callback, so their uploads start without waiting for the next
 * request or `close()`; with no callback they stay unanswered. Heartbeats are
 * dropped. Anything else belongs to no request: it is a protocol violation,
 * and the connection is closed with it (the next call or `close()` reports
 * it).
 *
 * Ordering contract: `stop()` resolves once the pump will not read again, so
 * the next reader sees every later message in order. A callback still running
 * may send its answer later, which the runtime accepts at any time before the
 * session ends.
 */
export class IdlePump {
  #stopped = true;
  #generation = 0;
  #readHandled: Promise<void> = Promise.resolve();

  constructor(
    private readonly channel: RuntimeChannel,
    private readonly callback: () => OnArtifactUploadRequest | undefined,
    /** An answer failed (the callback threw or returned no valid target). */
    private readonly onAnswerFailed: (error: unknown) => void,
  ) {}

  /** Starts pumping, once background work on the channel is over. */
  start(): void {
    if (!this.#stopped || this.channel.endedWith) return;
    this.#stopped = false;
    const generation = ++this.#generation;
    void this.channel.settled().then(() => this.#run(generation));
  }

  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    this.channel.interrupt();
    await this.#readHandled;
  }

  async #run(generation: number): Promise<void> {
    // A loop from an earlier start() that is still in a callback ends once it returns.
    while (!this.#stopped && generation === this.#generation) {
      let handled = () => {};
      this.#readHandled = new Promise<void>((resolve) => {
        handled = resolve;
      });
      let message: Awaited<ReturnType<RuntimeChannel["next"]>>;
      try {
        message = await this.channel.next(undefined, true);
      } catch {
        // The connection ended; the next call or close() reports why.
        this.#stopped = true;
        handled();
        return;
      }
      handled();
      // A refused late answer (response_error_message) belongs to no request and changes nothing.
      if (
        message === TIMED_OUT ||
        message.message_type === "heartbeat_message" ||
        message.message_type === "response_error_message"
      ) {
        continue;
      }
      if (message.message_type !== "artifact_upload_request_message") {
        this.#stopped = true;
        this.channel.fail(
          new ProtocolViolationError(`the runtime sent ${message.message_type} while no request was in flight`, {
            code: ClientErrorCode.UnexpectedMessage,
          }),
        );
        return;
      }
      const callback = this.callback();
      if (!callback) continue;
      const outcome = await answerOffer(this.channel, callback, {
        filename: message.filename,
        filepath: message.filepath,
      });
      if (outcome.ok === false) this.onAnswerFailed(outcome.error);
    }
  }
}
