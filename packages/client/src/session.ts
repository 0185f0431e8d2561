/// <reference lib="esnext.disposable" />
import { answerOffer } from "./artifact-answer.js";
import { type RuntimeChannel, TIMED_OUT } from "./channel.js";
import { CancelledError, SessionClosedError } from "./errors.js";
import { IdlePump } from "./idle-pump.js";
import { END_SESSION, toCommandExecutionResult, toQueryResult } from "./messages.js";
import { type CallContext, commandsPlan, queryPlan } from "./plans.js";
import { type Expected, type RequestPlan, runRequest, type TerminalOf } from "./request.js";
import { streamQuery } from "./stream.js";
import { boundAfter, checkTimeout, linkSignals, timeoutError, untilAborted } from "./timing.js";
import type {
  ArtifactManifestEntry,
  CommandExecutionResult,
  CommandSpec,
  ExecuteCommandsOptions,
  OnArtifactUploadRequest,
  QueryOptions,
  QueryResult,
  SessionCloseResult,
  SessionOptions,
  StreamEvent,
  StreamOptions,
  Usage,
} from "./types.js";

export interface SessionConfig {
  drainTimeout: number;
  closeTimeout: number;
}

type State = "open" | "closing" | "closed";

/**
 * A persistent connection carrying one request after another. Calls made
 * while a request runs wait their turn (their `timeout` counts from their
 * turn; their `signal` works while they wait). `close()` ends the session
 * with the runtime's handshake; `await using` calls it.
 */
export class RuntimeUseSession implements AsyncDisposable {
  #state: State = "open";
  #tail: Promise<unknown> = Promise.resolve();
  #current: AbortController | undefined;
  /** Interrupts the request in flight (set while one runs). */
  #interrupt: AbortController | undefined;
  #lastArtifactCallback: OnArtifactUploadRequest | undefined;
  #closing: Promise<SessionCloseResult> | undefined;
  /** The first artifact answer that failed outside a request (idle or closing), for `close()` to report. */
  #answerError: { error: unknown } | undefined;
  readonly #pump: IdlePump;

  /** @internal Created by `RuntimeUseClient.session()`. */
  constructor(
    private readonly channel: RuntimeChannel,
    private readonly config: SessionConfig,
    private readonly options: SessionOptions = {},
  ) {
    this.#pump = new IdlePump(
      channel,
      () => this.#artifactCallback(),
      (error) => this.#answerFailed(error),
    );
    this.#pump.start();
  }

  /** Answers artifact requests that come outside a request, and those of requests without a callback. */
  #artifactCallback(): OnArtifactUploadRequest | undefined {
    return this.options.onArtifactUploadRequest ?? this.#lastArtifactCallback;
  }

  /** An answer outside a request failed: the session goes on, and `close()` rejects with the first such error. */
  #answerFailed(error: unknown): void {
    this.#answerError ??= { error };
  }

  /** `open`, `closing` (close() called), or `closed` (closed, or its connection ended). */
  get state(): State {
    return this.#state === "open" && this.channel.endedWith ? "closed" : this.#state;
  }

  query(prompt: string, options: QueryOptions): Promise<QueryResult> {
    return this.#enqueue(options, (context) => queryPlan(prompt, options, context)).then(toQueryResult);
  }

  executeCommands(commands: CommandSpec[], options: ExecuteCommandsOptions = {}): Promise<CommandExecutionResult> {
    return this.#enqueue(options, (context) => commandsPlan(commands, options, context)).then(toCommandExecutionResult);
  }

  /** Like `query`, as an async iterator of events ending with the result. The request is sent on the first `next()`. */
  stream(prompt: string, options: StreamOptions): AsyncGenerator<StreamEvent, void, undefined> {
    return streamQuery((queryOptions) => this.query(prompt, queryOptions), options);
  }

  /** Cancels the request in flight, if any (queued calls still run). It rejects with `CancelledError`. */
  abort(reason?: unknown): void {
    this.#current?.abort(reason);
  }

  /**
   * Interrupts the agent's turn of the query in flight, if any: it resolves
   * with what the agent produced so far (`interrupted: true`). Queued calls
   * still run.
   */
  interrupt(): void {
    this.#interrupt?.abort();
  }

  async #enqueue<E extends Expected>(
    options: { signal?: AbortSignal; timeout?: number; onArtifactUploadRequest?: OnArtifactUploadRequest },
    build: (context: CallContext) => RequestPlan<E>,
  ): Promise<TerminalOf<E>> {
    if (this.#state !== "open") throw new SessionClosedError(`the session is ${this.#state}; open a new one`);
    this.#checkConnection();
    const controller = new AbortController();
    const linked = linkSignals(options?.signal, controller.signal);
    const context: CallContext = {
      signal: linked.signal,
      deadline: undefined,
      drainTimeout: this.config.drainTimeout,
      keepInStep: true,
      fallbackArtifactCallback: this.#artifactCallback(),
    };
    // Validate before queueing, so a bad option fails at once.
    const plan = build(context);
    checkTimeout("timeout", options.timeout);
    if (options.onArtifactUploadRequest) this.#lastArtifactCallback = options.onArtifactUploadRequest;
    const previous = this.#tail;
    let release = () => {};
    this.#tail = Promise.all([previous, new Promise<void>((resolve) => (release = resolve))]);
    try {
      await untilAborted(
        previous.then(() => this.channel.settled()),
        linked.signal,
        () => new CancelledError(`${plan.label} was cancelled`, linked.signal.reason),
      );
      await this.#pump.stop();
      this.#checkConnection();
      this.#current = controller;
      this.#interrupt = new AbortController();
      plan.interruptSignal = this.#interrupt.signal;
      plan.deadline = boundAfter("timeout", options.timeout);
      return await runRequest(this.channel, plan);
    } finally {
      if (this.#current === controller) {
        this.#current = undefined;
        this.#interrupt = undefined;
      }
      linked.dispose();
      release();
      if (this.#state === "open") this.#pump.start();
    }
  }

  #checkConnection(): void {
    const ended = this.channel.endedWith;
    if (!ended) return;
    this.channel.markReported();
    throw new SessionClosedError(`the session's connection has ended (${ended.message}); open a new one`, {
      cause: ended,
    });
  }

  /**
   * Ends the session: waits for queued requests, sends `end_session_message`,
   * answers the artifact requests that arrive meanwhile, and resolves with the
   * runtime's artifact manifest once it confirms. Idempotent.
   *
   * Rejects with `TimeoutError` (closeTimeout) or `ConnectionError` if the
   * handshake does not complete, and with the callback's error if an artifact
   * callback threw (after the handshake). When the connection had already
   * ended with an error that a request reported, resolves without a manifest.
   */
  close(): Promise<SessionCloseResult> {
    if (this.#state === "open") this.#state = "closing";
    this.#closing ??= this.#close().finally(() => {
      this.#state = "closed";
      this.channel.close();
    });
    return this.#closing;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  async #close(): Promise<SessionCloseResult> {
    await this.#tail;
    await this.channel.settled();
    await this.#pump.stop();
    const ended = this.channel.endedWith;
    if (ended) {
      if (this.channel.endReported) return { artifacts: undefined };
      this.channel.markReported();
      throw ended;
    }
    const bound = boundAfter("closeTimeout", this.config.closeTimeout);
    const callback = this.#artifactCallback();
    let artifacts: ArtifactManifestEntry[] | undefined;
    let usage: Usage | undefined;
    this.channel.send(END_SESSION);
    for (;;) {
      const message = await this.channel.next(bound?.at);
      if (message === TIMED_OUT) throw timeoutError(bound as NonNullable<typeof bound>);
      if (message.message_type === "end_session_confirm_message") {
        artifacts = message.artifacts;
        usage = message.usage;
        break;
      }
      // Anything else but artifact requests (heartbeats, strays) has no one left to go to.
      if (message.message_type !== "artifact_upload_request_message" || !callback) continue;
      const offer = { filename: message.filename, filepath: message.filepath };
      const outcome = await answerOffer(this.channel, callback, offer, bound);
      if (outcome.ok === "timeout") throw timeoutError(outcome.bound);
      if (outcome.ok === false) this.#answerFailed(outcome.error);
    }
    if (this.#answerError) throw this.#answerError.error;
    return usage ? { artifacts, usage } : { artifacts };
  }
}
