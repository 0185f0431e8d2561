import type { InvocationMessage, OutputFormat } from "@runtimeuse/protocol";
import type { Conversation } from "../conversations/index.js";
import type { AgentInvocation } from "../handler.js";
import { createLogger, type Logger, type LogSink } from "../logger.js";
import type { Interaction } from "./interaction.js";
import type { RequestAbort } from "./request-run.js";

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
 * Where an invocation keeps its `Live`: a non-enumerable symbol property, so
 * spreading or listing an invocation never shows it, while an object made
 * with `Object.create(invocation)` (a handler handing its inner handler the
 * invocation with one field replaced) still reaches it through its prototype.
 */
const LIVE = Symbol("runtimeuse.invocation");

type Holder = { readonly [LIVE]: Live };

const accessor = (get: (live: Live) => unknown): PropertyDescriptor => ({
  enumerable: true,
  configurable: true,
  get(this: Holder) {
    return get(this[LIVE]);
  },
});
const SIGNAL = accessor((live) => live.abort.signal);
const LOGGER = accessor((live) => {
  live.logger ??= createLogger(live.log, live.sourceId);
  return live.logger;
});
const INTERRUPT_SIGNAL = accessor((live) => live.interaction.interruptSignal);
const INTERRUPTED = accessor((live) => live.interaction.interrupted);

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
  constructor(parts: InvocationParts) {
    const { request, interaction } = parts;
    const live: Live = {
      abort: parts.abort,
      interaction,
      log: parts.log,
      sourceId: request.source_id,
      logger: undefined,
    };
    Object.defineProperty(this, LIVE, { value: live });
    const fields = this as unknown as Record<string, unknown>;
    fields.systemPrompt = request.system_prompt;
    fields.userPrompt = request.user_prompt;
    fields.model = request.model;
    fields.env = parts.env;
    fields.secrets = [...parts.secrets];
    Object.defineProperty(this, "signal", SIGNAL);
    Object.defineProperty(this, "logger", LOGGER);
    fields.runCommand = parts.runCommand;
    fields.approvalPolicy = interaction.policy;
    fields.allowQuestions = interaction.allowQuestions;
    fields.needsApproval = (toolName: string, toolKind?: Parameters<Interaction["needsApproval"]>[1]) =>
      interaction.needsApproval(toolName, toolKind);
    fields.requestApproval = (approval: Parameters<Interaction["requestApproval"]>[0]) =>
      interaction.requestApproval(approval);
    fields.ask = (question: Parameters<Interaction["ask"]>[0]) => interaction.ask(question);
    Object.defineProperty(this, "interruptSignal", INTERRUPT_SIGNAL);
    Object.defineProperty(this, "interrupted", INTERRUPTED);
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
