import { Channel, type ChannelConfig, type ReconnectConfig } from "./channel.js";
import { CancelledError, InvalidOptionsError } from "./errors.js";
import { toCommandExecutionResult, toQueryResult } from "./messages.js";
import { type CallContext, commandsPlan, queryPlan } from "./plans.js";
import { type Expected, type RequestPlan, runRequest, type TerminalOf } from "./request.js";
import { RuntimeUseSession, type SessionConfig } from "./session.js";
import { streamQuery } from "./stream.js";
import { boundAfter, checkTimeout, linkSignals } from "./timing.js";
import { StandardWebSocketTransport } from "./transport/standard.js";
import type { Transport } from "./transport/types.js";
import type {
  CommandExecutionResult,
  CommandSpec,
  ExecuteCommandsOptions,
  QueryOptions,
  QueryResult,
  RuntimeUseClientOptions,
  SessionOptions,
  StreamEvent,
  StreamOptions,
} from "./types.js";

export const CLIENT_DEFAULTS = {
  connectTimeout: 30_000,
  closeTimeout: 60_000,
  drainTimeout: 30_000,
  maxFrameBytes: 64 * 1024 * 1024,
  maxQueuedMessages: 10_000,
  maxReconnectAttempts: Number.POSITIVE_INFINITY,
  maxReconnectDelay: 5_000,
} as const;

function checkCount(name: string, value: unknown, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== "number" || !Number.isInteger(value) || value <= 0) {
    throw new InvalidOptionsError(`${name}: expected a positive whole number, received ${String(value)}`);
  }
  return value;
}

function checkUrl(url: unknown): string {
  if (typeof url !== "string") throw new InvalidOptionsError("url: expected a ws:// or wss:// URL string");
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new InvalidOptionsError(`url: not a valid URL: ${JSON.stringify(url.slice(0, 200))}`);
  }
  if (parsed.protocol !== "ws:" && parsed.protocol !== "wss:") {
    throw new InvalidOptionsError(`url: expected a ws:// or wss:// URL, received ${parsed.protocol}//`);
  }
  return url;
}

function reconnectConfig(options: RuntimeUseClientOptions): ReconnectConfig | undefined {
  if (options.reconnect !== undefined && typeof options.reconnect !== "boolean") {
    throw new InvalidOptionsError("reconnect: expected true or false");
  }
  if (options.onReconnect !== undefined && typeof options.onReconnect !== "function") {
    throw new InvalidOptionsError("onReconnect: expected a function");
  }
  const maxAttempts =
    options.maxReconnectAttempts === Number.POSITIVE_INFINITY
      ? Number.POSITIVE_INFINITY
      : checkCount("maxReconnectAttempts", options.maxReconnectAttempts, CLIENT_DEFAULTS.maxReconnectAttempts);
  const maxDelay = checkTimeout("maxReconnectDelay", options.maxReconnectDelay) ?? CLIENT_DEFAULTS.maxReconnectDelay;
  if (options.reconnect === false) return undefined;
  return { maxAttempts, maxDelay, ...(options.onReconnect ? { onReconnect: options.onReconnect } : {}) };
}

/** The default transport of the main entry point: the environment's standard `WebSocket`. */
function standardTransport(headers: Record<string, string> | undefined): Transport {
  if (headers && Object.keys(headers).length > 0) {
    throw new InvalidOptionsError(
      "headers: the standard WebSocket API cannot send handshake headers; on Node.js import RuntimeUseClient from 'runtimeuse-client/node', or pass a transport that can",
    );
  }
  return new StandardWebSocketTransport();
}

/**
 * Talks to one runtime. `query` and `executeCommands` each open a connection
 * for one request and close it; `session()` keeps one connection for many.
 * Which transport carries the frames depends on the entry point: see the
 * `runtimeuse-client` and `runtimeuse-client/node` exports.
 */
export class RuntimeUseClient {
  readonly url: string;
  readonly #channel: ChannelConfig;
  readonly #session: SessionConfig;
  readonly #inFlight = new Set<AbortController>();
  /** One per one-shot call in flight: `interrupt()` fires them. */
  readonly #interrupters = new Set<AbortController>();

  constructor(options: RuntimeUseClientOptions) {
    if (options === null || typeof options !== "object") throw new InvalidOptionsError("expected an options object");
    this.url = checkUrl(options.url);
    if (options.token !== undefined && (typeof options.token !== "string" || options.token === "")) {
      throw new InvalidOptionsError("token: expected a non-empty string");
    }
    if (options.headers !== undefined) {
      for (const [name, value] of Object.entries(options.headers)) {
        if (typeof value !== "string") throw new InvalidOptionsError(`headers.${name}: expected a string`);
      }
    }
    const transport = options.transport ?? standardTransport(options.headers);
    if (typeof transport?.connect !== "function") {
      throw new InvalidOptionsError("transport: expected an object with a connect() method");
    }
    this.#channel = {
      transport,
      url: this.url,
      ...(options.token === undefined ? {} : { token: options.token }),
      ...(options.headers === undefined ? {} : { headers: { ...options.headers } }),
      connectTimeout: checkTimeout("connectTimeout", options.connectTimeout) ?? CLIENT_DEFAULTS.connectTimeout,
      maxFrameBytes: checkCount("maxFrameBytes", options.maxFrameBytes, CLIENT_DEFAULTS.maxFrameBytes),
      maxQueuedMessages: checkCount("maxQueuedMessages", options.maxQueuedMessages, CLIENT_DEFAULTS.maxQueuedMessages),
      reconnect: reconnectConfig(options),
    };
    this.#session = {
      closeTimeout: checkTimeout("closeTimeout", options.closeTimeout) ?? CLIENT_DEFAULTS.closeTimeout,
      drainTimeout: checkTimeout("drainTimeout", options.drainTimeout) ?? CLIENT_DEFAULTS.drainTimeout,
    };
  }

  /** Sends `prompt` to the agent on a connection of its own; resolves with its result. */
  async query(prompt: string, options: QueryOptions): Promise<QueryResult> {
    return toQueryResult(await this.#oneShot(options, (context) => queryPlan(prompt, options, context)));
  }

  /** Runs `commands` in order without the agent; stops at the first non-zero exit. */
  async executeCommands(
    commands: CommandSpec[],
    options: ExecuteCommandsOptions = {},
  ): Promise<CommandExecutionResult> {
    return toCommandExecutionResult(
      await this.#oneShot(options, (context) => commandsPlan(commands, options, context)),
    );
  }

  /** Like `query`, as an async iterator of events ending with the result. Connects on the first `next()`. */
  stream(prompt: string, options: StreamOptions): AsyncGenerator<StreamEvent, void, undefined> {
    return streamQuery((queryOptions) => this.query(prompt, queryOptions), options);
  }

  /** Opens a persistent session. Close it with `close()` or `await using`. */
  async session(options: SessionOptions = {}): Promise<RuntimeUseSession> {
    if (options.onArtifactUploadRequest !== undefined && typeof options.onArtifactUploadRequest !== "function") {
      throw new InvalidOptionsError("onArtifactUploadRequest: expected a function");
    }
    const channel = await Channel.open(this.#channel);
    return new RuntimeUseSession(channel, this.#session, options);
  }

  /** Cancels every `query`, `executeCommands` and `stream` of this client in flight (not sessions'). */
  abort(reason?: unknown): void {
    for (const controller of this.#inFlight) controller.abort(reason);
  }

  /**
   * Interrupts the agent's turn of every `query` and `stream` of this client
   * in flight (not sessions'): each resolves with what its agent produced so
   * far, `interrupted: true`. Command executions are not affected.
   */
  interrupt(): void {
    for (const interrupter of this.#interrupters) interrupter.abort();
  }

  async #oneShot<E extends Expected>(
    options: { signal?: AbortSignal; timeout?: number },
    build: (context: CallContext) => RequestPlan<E>,
  ): Promise<TerminalOf<E>> {
    const controller = new AbortController();
    // Options that are no object are refused by `build`, with the call's own message.
    const linked = linkSignals(options?.signal, controller.signal);
    const deadline = boundAfter("timeout", checkTimeout("timeout", options?.timeout));
    const interrupter = new AbortController();
    const plan = build({
      signal: linked.signal,
      interruptSignal: interrupter.signal,
      deadline,
      drainTimeout: this.#session.drainTimeout,
      keepInStep: false,
      fallbackArtifactCallback: undefined,
    });
    this.#inFlight.add(controller);
    this.#interrupters.add(interrupter);
    try {
      const cancelled = () => new CancelledError(`${plan.label} was cancelled`, linked.signal.reason);
      const channel = await Channel.open(this.#channel, { signal: linked.signal, error: cancelled }, deadline);
      try {
        return await runRequest(channel, plan);
      } finally {
        channel.close();
      }
    } finally {
      this.#inFlight.delete(controller);
      this.#interrupters.delete(interrupter);
      linked.dispose();
    }
  }
}
