import {
  ErrorCode,
  type InvocationMessage,
  type OutputFormat,
  type ResultMessage,
  type TerminalMessage,
  UsageSchema,
} from "@runtimeuse/protocol";
import { RunConversation } from "../conversations/index.js";
import type { AgentResult } from "../handler.js";
import type { AgentCommands } from "./agent-commands.js";
import { createInvocation } from "./invocation.js";
import { agentCommand, runPhaseCommands } from "./request-commands.js";
import { describeError, type RequestHost, type RequestRun } from "./request-run.js";
import { checkResult, RequestFailure, type ResultCheck, toResultMessage } from "./result.js";
import { createSender } from "./sender.js";

/*
 * An invocation's part of a request: the pre-agent commands, the handler's
 * turn, the result it returns and the post-agent commands.
 */

/** An invocation from its pre-agent commands to its result; undefined when it was aborted on the way. */
export async function runInvocation(
  request: InvocationMessage,
  outputFormat: OutputFormat | undefined,
  resultCheck: ResultCheck | undefined,
  run: RequestRun,
): Promise<TerminalMessage | undefined> {
  const { abort, interaction, host, lease } = run;
  const pre = request.pre_agent_invocation_commands;
  if (pre?.length) {
    if (!(await runPhaseCommands(pre, "pre-agent", run))) return undefined;
  } else {
    // Awaited even with no commands: the handler then runs in a microtask, so
    // what it sends at once and its result are gathered into one write (the
    // outbox flushes on process.nextTick, which runs only after the microtasks).
    await undefined;
  }
  // Loaded after the downloads and pre-agent commands, so that they can bring the conversation's file in.
  let conversation: RunConversation | undefined;
  if (lease) {
    host.setPhase("loading_conversation");
    conversation = new RunConversation(lease.id, await lease.load());
    if (abort.aborted) return undefined;
  }
  // An interrupt before the agent started skips it (docs/PROTOCOL.md "Interrupt").
  const result = interaction.interrupted
    ? ({ type: "text", text: "" } as const)
    : await callHandler(request, outputFormat, run, conversation);
  interaction.endTurn();
  // A handler that returns nothing when it was not stopped made a mistake: `invalid_result` says what it returned.
  if (abort.aborted) return undefined;
  let resultMessage = withUsage(toResultMessage(result), result, host);
  if (interaction.interrupted) {
    // What the agent produced so far is not held to the output schema.
    resultMessage = { ...resultMessage, metadata: { ...resultMessage.metadata, interrupted: true } };
  } else {
    resultMessage = checkResult(resultMessage, resultCheck);
  }
  const post = request.post_agent_invocation_commands;
  // Awaited only when there are commands: most requests have none.
  if (post?.length && !(await runPhaseCommands(post, "post-agent", run))) return undefined;
  if (lease && conversation) {
    // The commit point: saved only when the request is about to end with its result (an interrupted one too).
    host.setPhase("saving_conversation");
    await lease.commit(conversation.changes());
    lease.release();
  }
  return resultMessage;
}

async function callHandler(
  request: InvocationMessage,
  outputFormat: OutputFormat | undefined,
  run: RequestRun,
  conversation: RunConversation | undefined,
): Promise<AgentResult | undefined> {
  const { abort, interaction, host, settings, secrets } = run;
  host.setPhase("agent");
  const env = request.agent_env ?? {};
  const invocation = createInvocation({
    request,
    env,
    outputFormat,
    conversation,
    secrets,
    abort,
    interaction,
    log: host.log,
    runCommand: (command, options = {}) => agentCommand(command, options, env, run),
  });
  const sender = createSender(host);
  try {
    return await settings.handler.run(invocation, sender);
  } catch (error) {
    if (abort.aborted) return undefined;
    if (interaction.interrupted) {
      // A handler that throws when interrupted has produced nothing it returned.
      host.log.write("info", "handler threw after an interrupt", { ...host.logFields, error: describeError(error) });
      return { type: "text", text: "", metadata: { interrupt_error: describeError(error) } };
    }
    // The client gets the message; the runtime's log keeps what is needed to find the cause.
    host.log.write("warn", "handler failed", {
      ...host.logFields,
      source_id: request.source_id,
      error_name: error instanceof Error ? error.name : typeof error,
      error: describeError(error),
      stack: error instanceof Error ? error.stack : undefined,
    });
    throw new RequestFailure(describeError(error), { code: ErrorCode.HandlerError });
  } finally {
    run.turnOver = true;
    // Awaited only when the handler left commands running (most requests have none): no await otherwise.
    const commands = run.agentCommands;
    if (commands !== undefined && commands.size > 0 && !abort.aborted) await endTurn(commands, run);
  }
}

/**
 * The handler returned or threw (its `runCommand` starts nothing more) with
 * commands still running: they are killed with their process groups. The
 * request goes on once they are gone (SIGKILL after the kill grace), so its
 * post-agent commands and its result come after them. An agent SDK may return
 * from an interrupt before the commands it ran are gone: the same wait.
 * A cancel kills them through the request's signal and does not wait.
 */
async function endTurn(commands: AgentCommands, run: RequestRun): Promise<void> {
  if (!run.interaction.interrupted) {
    run.host.log.write("warn", "the handler returned with commands still running; killing them", {
      ...run.host.logFields,
      commands: commands.size,
    });
  }
  await commands.end();
}

/**
 * `metadata.usage` from the handler's `usage` (in the usage shape) when it
 * gives one; a handler that gives none keeps its metadata as it is, so a
 * client of a custom handler sees exactly what the handler returned.
 */
function withUsage(message: ResultMessage, result: AgentResult | undefined, host: RequestHost): ResultMessage {
  const given = (result as { usage?: unknown } | undefined)?.usage;
  if (given === undefined) return message;
  const usage = UsageSchema.safeParse(given);
  if (usage.success) return { ...message, metadata: { ...message.metadata, usage: usage.data } };
  host.log.write("warn", "the handler's usage is not in the usage shape; left out", host.logFields);
  return message;
}
