import type { RuntimeMessage, TerminalMessage } from "@runtimeuse/protocol";
import type { ConversationLease, ConversationStore } from "../conversations/index.js";
import type { DownloadLimits } from "../downloads/index.js";
import type { AgentHandler } from "../handler.js";
import type { LogFields, LogSink } from "../logger.js";
import type { AgentCommands } from "./agent-commands.js";
import type { Interaction, PromptHost } from "./interaction.js";

/*
 * What the steps of one request share (request.ts runs them, with
 * request-invocation.ts and request-commands.ts): the connection it runs on,
 * the settings, its abort state and the record of one run.
 */

/** What a request's runner needs from its connection. */
export interface RequestHost extends PromptHost {
  /** Sends a non-terminal message of this request; resolves when the socket has room. */
  emit(message: RuntimeMessage): Promise<void>;
  /** Ends the request. Only the first terminal counts; later ones are dropped by the engine. */
  terminate(terminal: TerminalMessage): void;
  setPhase(phase: string): void;
  /**
   * The connection's secret list (see `SessionEngine.secrets`): command
   * output streams, download messages and the handler's `invocation.secrets`
   * use it, as every frame and log line does.
   */
  secrets(): readonly string[];
  log: LogSink;
  /** Fields that place this request's log lines (connection and request ids). */
  logFields?: LogFields;
  /** Called at the start of the request with its artifacts directories. */
  watchArtifacts?(dirs: string[], ignoreContent: string | undefined): Promise<void>;
  /** Called right before the terminal: offer every artifact written so far. */
  offerArtifacts?(): Promise<void> | undefined;
}

export interface RequestSettings {
  handler: AgentHandler;
  /** Variable names never passed to commands (the runtime's auth token). */
  hiddenEnv: readonly string[];
  maxCapturedStdout: number;
  killGraceMs: number;
  /** The server's download limits; unset ones keep their defaults. */
  downloadLimits: Partial<DownloadLimits> | undefined;
  /** The store of requests that name a conversation; created on first use. */
  conversations(): ConversationStore;
}

/**
 * A request's abort state. Most requests never read their signal, and an
 * AbortController per request costs (slow to create in Node 20, and it is
 * promoted to old space, forcing full GCs); so the controller is created only
 * when `signal` is first read. Aborting before that is remembered in a plain
 * boolean, and the signal created later starts aborted with the same reason.
 */
export class RequestAbort {
  private controller: AbortController | undefined;
  private reason: unknown;
  private abortedFlag = false;
  private listener: (() => void) | undefined;

  get aborted(): boolean {
    return this.abortedFlag;
  }

  get signal(): AbortSignal {
    if (this.controller === undefined) {
      this.controller = new AbortController();
      if (this.abortedFlag) this.controller.abort(this.reason);
    }
    return this.controller.signal;
  }

  /** Only the first call counts, like AbortController.abort. */
  abort(reason: unknown): void {
    if (this.abortedFlag) return;
    this.abortedFlag = true;
    this.reason = reason;
    this.controller?.abort(reason);
    this.listener?.();
  }

  /** Calls `listener` once, on abort (at once if already aborted); one listener, without creating the signal. */
  onAbort(listener: () => void): void {
    if (this.abortedFlag) listener();
    else this.listener = listener;
  }
}

/** What one request's steps share. */
export interface RequestRun {
  abort: RequestAbort;
  interaction: Interaction;
  host: RequestHost;
  settings: RequestSettings;
  secrets: readonly string[];
  /** The conversation the request holds, when it names one. */
  lease: ConversationLease | undefined;
  /** The agent's `runCommand`s still running (made on the first). */
  agentCommands: AgentCommands | undefined;
  /** The handler returned (or threw): its `runCommand` starts nothing more. */
  turnOver: boolean;
}

/** An error's message for a client or a log line. */
export function describeError(error: unknown): string {
  if (error instanceof Error) return error.message || error.name;
  return String(error);
}
