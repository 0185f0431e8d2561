import type { InvocationMessage, OutputFormat } from "@runtimeuse/protocol";
import type { CommandOutcome } from "../commands/index.js";
import type { Conversation } from "../conversations/index.js";
import type { AgentCommandOptions, AgentInvocation } from "../handler.js";
import { createLogger, type Logger, type LogSink } from "../logger.js";
import type { Interaction } from "./interaction.js";
import type { RequestAbort } from "./request.js";

/** What an invocation's accessors read: kept on the object under a key no handler sees or copies. */
interface Live {
  abort: RequestAbort;
  interaction: Interaction;
  log: LogSink;
  sourceId: string | undefined;
  logger: Logger | undefined;
}

const LIVE = Symbol("runtimeuse.invocation");

type Holder = { [LIVE]: Live };

/**
 * The lazily made parts of an invocation, as accessors shared by every
 * invocation (`this` is the invocation): the abort controllers and the
 * logger exist only for handlers that read them. Own, enumerable properties
 * like the rest, so `{...invocation}` and destructuring see them; defined in
 * the same order on every object, so all invocations share one shape.
 */
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

/** The `AgentInvocation` a handler gets for one request. */
export function createInvocation(parts: InvocationParts): AgentInvocation {
  const { request, interaction } = parts;
  const env = request.agent_env ?? {};
  const invocation = {
    systemPrompt: request.system_prompt,
    userPrompt: request.user_prompt,
    model: request.model,
    env,
    secrets: [...parts.secrets],
  } as Record<string, unknown>;
  Object.defineProperty(invocation, LIVE, {
    value: {
      abort: parts.abort,
      interaction,
      log: parts.log,
      sourceId: request.source_id,
      logger: undefined,
    } satisfies Live,
  });
  Object.defineProperty(invocation, "signal", SIGNAL);
  Object.defineProperty(invocation, "logger", LOGGER);
  invocation.runCommand = (command: string, options: AgentCommandOptions = {}) =>
    parts.runCommand(command, options, env);
  invocation.approvalPolicy = interaction.policy;
  invocation.allowQuestions = interaction.allowQuestions;
  invocation.needsApproval = (toolName: string, toolKind?: Parameters<Interaction["needsApproval"]>[1]) =>
    interaction.needsApproval(toolName, toolKind);
  invocation.requestApproval = (approval: Parameters<Interaction["requestApproval"]>[0]) =>
    interaction.requestApproval(approval);
  invocation.ask = (question: Parameters<Interaction["ask"]>[0]) => interaction.ask(question);
  Object.defineProperty(invocation, "interruptSignal", INTERRUPT_SIGNAL);
  Object.defineProperty(invocation, "interrupted", INTERRUPTED);
  if (parts.outputFormat !== undefined) invocation.outputFormat = parts.outputFormat;
  if (request.source_id !== undefined) invocation.sourceId = request.source_id;
  if (parts.conversation) invocation.conversation = parts.conversation;
  if (request.agent !== undefined) invocation.agent = request.agent;
  return invocation as unknown as AgentInvocation;
}
