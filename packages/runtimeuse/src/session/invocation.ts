import type { InvocationMessage, OutputFormat } from "@runtimeuse/protocol";
import type { CommandOutcome } from "../commands/index.js";
import type { Conversation } from "../conversations/index.js";
import type { AgentCommandOptions, AgentInvocation } from "../handler.js";
import { createLogger, type Logger, type LogSink } from "../logger.js";
import type { Interaction } from "./interaction.js";
import type { RequestAbort } from "./request.js";

export interface InvocationParts {
  request: InvocationMessage;
  outputFormat: OutputFormat | undefined;
  conversation: Conversation | undefined;
  secrets: readonly string[];
  abort: RequestAbort;
  interaction: Interaction;
  log: LogSink;
  /** The request's `runCommand`: runs `command` with `env` (the request's `agent_env`) in its environment. */
  runCommand(command: string, options: AgentCommandOptions, env: Record<string, string>): Promise<CommandOutcome>;
}

/** What the lazily made parts read: private, so no handler sees or copies it. */
interface Live {
  abort: RequestAbort;
  interaction: Interaction;
  log: LogSink;
  sourceId: string | undefined;
  logger: Logger | undefined;
}

const accessor = <T>(get: (this: T) => unknown): PropertyDescriptor => ({ enumerable: true, configurable: true, get });

/**
 * The `AgentInvocation` a handler gets for one request. The signals and the
 * logger are made only for handlers that read them: they are accessors, but
 * own and enumerable like every other field, so `{...invocation}` and
 * destructuring see them as before. The accessor functions are shared by
 * every invocation and defined in the same order, so all invocations have
 * one shape (an object literal with getters would make new closures and a
 * slow dictionary-mode object per request).
 */
class Invocation {
  readonly #live: Live;

  static readonly #signal = accessor(function (this: Invocation) {
    return this.#live.abort.signal;
  });
  static readonly #logger = accessor(function (this: Invocation) {
    const live = this.#live;
    live.logger ??= createLogger(live.log, live.sourceId);
    return live.logger;
  });
  static readonly #interruptSignal = accessor(function (this: Invocation) {
    return this.#live.interaction.interruptSignal;
  });
  static readonly #interrupted = accessor(function (this: Invocation) {
    return this.#live.interaction.interrupted;
  });

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
    const env = request.agent_env ?? {};
    fields.systemPrompt = request.system_prompt;
    fields.userPrompt = request.user_prompt;
    fields.model = request.model;
    fields.env = env;
    fields.secrets = [...parts.secrets];
    Object.defineProperty(this, "signal", Invocation.#signal);
    Object.defineProperty(this, "logger", Invocation.#logger);
    fields.runCommand = (command: string, options: AgentCommandOptions = {}) => parts.runCommand(command, options, env);
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
