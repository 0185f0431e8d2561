import type { InvocationMessage, OutputFormat } from "@runtimeuse/protocol";
import type { Conversation } from "../conversations/index.js";
import type { AgentInvocation } from "../handler.js";
import { createLogger, type Logger, type LogSink } from "../logger.js";
import type { Interaction } from "./interaction.js";
import type { RequestAbort } from "./request.js";

export interface InvocationParts {
  request: InvocationMessage;
  /** The request's `agent_env` (empty when it sent none). */
  env: Record<string, string>;
  outputFormat: OutputFormat | undefined;
  conversation: Conversation | undefined;
  secrets: readonly string[];
  abort: RequestAbort;
  interaction: Interaction;
  log: LogSink;
  /** The invocation's `runCommand`, as handlers call it. */
  runCommand: AgentInvocation["runCommand"];
}

/** What the lazily made parts read. */
interface Live {
  abort: RequestAbort;
  interaction: Interaction;
  log: LogSink;
  sourceId: string | undefined;
  logger: Logger | undefined;
}

/**
 * The `AgentInvocation` a handler gets for one request. The signals and the
 * logger are made only for handlers that read them: they are accessors, but
 * own and enumerable like every other field, so `{...invocation}` and
 * destructuring see them as before. The accessor functions are shared by
 * every invocation and defined in the same order, so all invocations have
 * one shape (an object literal with getters would make new closures and a
 * slow dictionary-mode object per request). What they read is kept in a
 * private field: never listed nor spread, and found through the prototype
 * chain by an object made with `Object.create(invocation)` (a handler handing
 * its inner handler the invocation with one field replaced).
 */
class Invocation {
  readonly #live: Live;

  /** The `Live` of `holder`: its own, or that of the invocation it was made from with `Object.create`. */
  static #liveOf(holder: object): Live {
    for (let target: object | null = holder; target !== null; target = Object.getPrototypeOf(target)) {
      if (#live in target) return (target as Invocation).#live;
    }
    throw new TypeError("not an invocation, nor made from one");
  }

  static #accessor(get: (live: Live) => unknown): PropertyDescriptor {
    return {
      enumerable: true,
      configurable: true,
      get(this: object) {
        return get(Invocation.#liveOf(this));
      },
    };
  }

  static readonly #signal = Invocation.#accessor((live) => live.abort.signal);
  static readonly #logger = Invocation.#accessor((live) => {
    live.logger ??= createLogger(live.log, live.sourceId);
    return live.logger;
  });
  static readonly #interruptSignal = Invocation.#accessor((live) => live.interaction.interruptSignal);
  static readonly #interrupted = Invocation.#accessor((live) => live.interaction.interrupted);

  constructor(parts: InvocationParts) {
    const { request, interaction } = parts;
    this.#live = {
      abort: parts.abort,
      interaction,
      log: parts.log,
      sourceId: request.source_id,
      logger: undefined,
    };
    const fields = this as unknown as Record<string, unknown>;
    fields.systemPrompt = request.system_prompt;
    fields.userPrompt = request.user_prompt;
    fields.model = request.model;
    fields.env = parts.env;
    fields.secrets = [...parts.secrets];
    Object.defineProperty(this, "signal", Invocation.#signal);
    Object.defineProperty(this, "logger", Invocation.#logger);
    fields.runCommand = parts.runCommand;
    fields.approvalPolicy = interaction.policy;
    fields.allowQuestions = interaction.allowQuestions;
    fields.needsApproval = (toolName: string, toolKind?: Parameters<Interaction["needsApproval"]>[1]) =>
      interaction.needsApproval(toolName, toolKind);
    fields.requestApproval = (approval: Parameters<Interaction["requestApproval"]>[0]) =>
      interaction.requestApproval(approval);
    fields.ask = (question: Parameters<Interaction["ask"]>[0]) => interaction.ask(question);
    Object.defineProperty(this, "interruptSignal", Invocation.#interruptSignal);
    Object.defineProperty(this, "interrupted", Invocation.#interrupted);
    if (parts.outputFormat !== undefined) fields.outputFormat = parts.outputFormat;
    if (request.source_id !== undefined) fields.sourceId = request.source_id;
    if (parts.conversation) fields.conversation = parts.conversation;
    if (request.agent !== undefined) fields.agent = request.agent;
  }
}

/** The `AgentInvocation` a handler gets for one request. */
export function createInvocation(parts: InvocationParts): AgentInvocation {
  return new Invocation(parts) as unknown as AgentInvocation;
}
