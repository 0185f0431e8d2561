import { type Channel, TIMED_OUT } from "./channel.js";
import { buildArtifactResponse } from "./messages.js";
import type { OnArtifactUploadRequest } from "./types.js";

/**
 * Between requests the runtime may still offer artifacts (files that appear
 * after a terminal). While a session is idle, the pump answers those offers
 * with the session's callback, so their uploads start without waiting for the
 * next request or `close()`. It consumes only artifact requests and
 * heartbeats; any other message is put back for the next reader.
 *
 * Ordering contract: `stop()` resolves once the pump will not read again and
 * has put back what it read, so the next reader sees every message in order.
 * A callback still running may send its answer later, which the runtime
 * accepts at any time before the session ends.
 */
export class IdlePump {
  #stopped = true;
  #generation = 0;
  #readHandled: Promise<void> = Promise.resolve();
  #firstError: { error: unknown } | undefined;

  constructor(
    private readonly channel: Channel,
    private readonly callback: () => OnArtifactUploadRequest | undefined,
  ) {}

  /** The first error an answer failed with (a callback that threw, a bad result), for `close()` to report. */
  get firstError(): { error: unknown } | undefined {
    return this.#firstError;
  }

  /** Starts pumping, once background work on the channel is over. No effect without a callback. */
  start(): void {
    if (!this.#stopped || this.channel.endedWith || !this.callback()) return;
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
      let message: Awaited<ReturnType<Channel["next"]>>;
      try {
        message = await this.channel.next(undefined, true);
      } catch {
        // The connection ended; the next call or close() reports why.
        this.#stopped = true;
        handled();
        return;
      }
      if (message === TIMED_OUT || message.message_type === "heartbeat_message") {
        handled();
        continue;
      }
      const callback = this.callback();
      if (message.message_type !== "artifact_upload_request_message" || !callback) {
        this.channel.unshift(message);
        this.#stopped = true;
        handled();
        return;
      }
      handled();
      const request = { filename: message.filename, filepath: message.filepath };
      let response: ReturnType<typeof buildArtifactResponse>;
      try {
        response = buildArtifactResponse(request, await callback(request));
      } catch (error) {
        this.#firstError ??= { error };
        continue;
      }
      // A connection that ended meanwhile is reported by the next call or close().
      this.channel.trySend(response);
    }
  }
}
