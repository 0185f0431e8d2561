import { resolve } from "node:path";
import {
  type Command,
  type CommandExecutionMessage,
  type Downloadable,
  ErrorCode,
  type InvocationMessage,
  type OutputFormat,
  type RequestMessage,
  type ResultMessage,
  type RuntimeMessage,
  type TerminalMessage,
  UsageSchema,
} from "@runtimeuse/protocol";
import { ArtifactsDirError } from "../artifacts/index.js";
import { type CommandOutcome, runCommand } from "../commands/index.js";
import {
  ConversationError,
  type ConversationLease,
  type ConversationStore,
  RunConversation,
} from "../conversations/index.js";
import type { AgentCommandOptions, AgentHandler, AgentResult } from "../handler.js";
import { createLogger, type LogFields, type LogSink } from "../logger.js";
import { errorMessage } from "./engine.js";
import { type CapturedResult, CLIENT_FRAME_LIMIT_BYTES, commandResultsMessage } from "./frame-limits.js";
import type { Interaction, PromptHost } from "./interaction.js";
import { createInvocation } from "./invocation.js";
import { loadDownloads } from "./lazy-modules.js";
import {
  checkResult,
  loadResultCheck,
  parseOutputFormat,
  RequestFailure,
  type ResultCheck,
  toResultMessage,
} from "./result.js";
import { createSender, outputMessage } from "./sender.js";

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

/**
 * Runs one request through its lifecycle (PROTOCOL.md "Invocation lifecycle"
 * and "Command execution"). Always ends by calling `host.terminate` once; never
 * throws. `abort` aborts everything it started.
 */
export async function runRequest(
  request: RequestMessage,
  abort: RequestAbort,
  interaction: Interaction,
  host: RequestHost,
  settings: RequestSettings,
): Promise<void> {
  const run: RequestRun = {
    abort,
    interaction,
    host,
    settings,
    secrets: host.secrets(),
    lease: undefined,
    agentCommands: undefined,
  };
  try {
    if (request.message_type === "invocation_message") checkAgent(request, settings.handler);
    // A schema that cannot be used fails the request before anything runs.
    const schemaText =
      request.message_type === "invocation_message" ? request.output_format_json_schema_str : undefined;
    const outputFormat = parseOutputFormat(schemaText);
    const resultCheck = outputFormat && (await loadResultCheck(schemaText, outputFormat));
    if (request.message_type === "invocation_message" && request.conversation_id !== undefined) {
      // Held from the start (a second request on it is refused at once) until the terminal:
      // every ending other than a saved result aborts, and an aborted run saves nothing.
      const held = settings.conversations().acquire(request.conversation_id);
      run.lease = held;
      abort.onAbort(() => held.release());
    }
    const dirs = artifactsDirs(request);
    if (dirs.length > 0 && host.watchArtifacts) {
      host.setPhase("watching_artifacts");
      await host.watchArtifacts(dirs, request.artifacts_ignore_content).catch((error: unknown) => {
        throw error instanceof ArtifactsDirError ? unusableArtifactsDir(request, error) : error;
      });
    }
    const downloadables =
      request.message_type === "invocation_message"
        ? request.pre_agent_downloadables
        : request.pre_execution_downloadables;
    if (downloadables && downloadables.length > 0) {
      host.setPhase("downloading");
      if (!(await download(downloadables, request.source_id, run))) return;
    }
    const terminal =
      request.message_type === "invocation_message"
        ? await runInvocation(request, outputFormat, resultCheck, run)
        : await runCommands(request, run);
    if (terminal === undefined || abort.aborted) return;
    // Undefined when nothing was ever watched on the connection: no offer, no wait.
    const offering = host.offerArtifacts?.();
    if (offering) {
      host.setPhase("offering_artifacts");
      await offering;
    }
    host.terminate(terminal);
  } catch (caught) {
    const error =
      caught instanceof ConversationError
        ? new RequestFailure(caught.message, { code: caught.code, ...caught.metadata })
        : caught;
    if (error instanceof RequestFailure) {
      // What a failed command or handler wrote before failing is offered too, before the terminal.
      if (!abort.aborted) await host.offerArtifacts?.()?.catch(() => {});
      host.terminate(errorMessage(error.message, error.metadata));
    } else {
      host.log.write("error", "request failed inside the runtime", { error: describeError(error) });
      host.terminate(errorMessage(`runtime error: ${describeError(error)}`, { code: ErrorCode.InternalError }));
    }
  } finally {
    run.lease?.release();
  }
}

/** Downloads the request's files; false when the request was aborted meanwhile (it just ends). */
async function download(
  downloadables: readonly Downloadable[],
  sourceId: string | undefined,
  run: RequestRun,
): Promise<boolean> {
  const downloads = await loadDownloads();
  try {
    await downloads.downloadAll(downloadables, {
      signal: run.abort.signal,
      secrets: run.secrets,
      logger: createLogger(run.host.log, sourceId),
    });
    return true;
  } catch (error) {
    if (run.abort.aborted) return false;
    if (!(error instanceof downloads.DownloadError)) {
      throw new RequestFailure(`${downloads.DOWNLOAD_FAILED}${String(error)}`, { code: ErrorCode.DownloadFailed });
    }
    throw new RequestFailure(error.message, {
      code: ErrorCode.DownloadFailed,
      reason: error.reason,
      ...(error.status === undefined ? {} : { status: error.status }),
      ...(error.url === undefined ? {} : { url: error.url }),
    });
  }
}

/** Runs one of the request's own commands (pre/post and command execution), streaming its output. */
function streamCommand(command: Command, run: RequestRun): Promise<CommandOutcome> {
  const { host, settings } = run;
  return runCommand({
    command: command.command,
    ...(command.cwd === undefined ? {} : { cwd: command.cwd }),
    env: { ...command.env },
    hiddenEnv: settings.hiddenEnv,
    signal: run.abort.signal,
    secrets: run.secrets,
    maxCapturedBytes: settings.maxCapturedStdout,
    killGraceMs: settings.killGraceMs,
    onOutput: (stream, text) => host.emit(outputMessage(stream, text, command.command)),
  });
}

async function runPhaseCommands(
  commands: readonly Command[],
  label: "pre-agent" | "post-agent",
  run: RequestRun,
): Promise<boolean> {
  for (const command of commands) {
    run.host.setPhase(`${label.replace("-", "_")}_commands`);
    const outcome = await streamCommand(command, run);
    if (run.abort.aborted) return false;
    if (outcome.exitCode !== 0) {
      throw new RequestFailure(`${label} command failed with exit code: ${outcome.exitCode}`, {
        code: ErrorCode.CommandFailed,
        command: command.command,
        exit_code: outcome.exitCode,
      });
    }
  }
  return true;
}

/** What one request's steps share. */
interface RequestRun {
  abort: RequestAbort;
  interaction: Interaction;
  host: RequestHost;
  settings: RequestSettings;
  secrets: readonly string[];
  /** The conversation the request holds, when it names one. */
  lease: ConversationLease | undefined;
  /** The agent's `runCommand`s still running (made on the first): an interrupt waits for them to be gone. */
  agentCommands: Set<Promise<CommandOutcome>> | undefined;
}

async function runInvocation(
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
  // An agent SDK may return from an interrupt before the commands it ran are
  // gone; they are being killed (bounded by the kill grace): the request goes
  // on once they are.
  if (interaction.interrupted && run.agentCommands) await Promise.allSettled([...run.agentCommands]);
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
  }
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

async function runCommands(request: CommandExecutionMessage, run: RequestRun): Promise<TerminalMessage | undefined> {
  const results: CapturedResult[] = [];
  run.host.setPhase("commands");
  for (const command of request.commands) {
    const outcome = await streamCommand(command, run);
    if (run.abort.aborted) return undefined;
    results.push({
      command: command.command,
      exit_code: outcome.exitCode,
      stdout: outcome.stdout,
      ...(outcome.stdoutTruncated ? { stdout_truncated: true } : {}),
    });
    if (outcome.exitCode !== 0) break;
  }
  // Within what common clients take, unless the embedder keeps more stdout per command than that.
  return commandResultsMessage(results, Math.max(CLIENT_FRAME_LIMIT_BYTES, run.settings.maxCapturedStdout));
}

function agentCommand(
  command: string,
  options: AgentCommandOptions,
  agentEnv: Record<string, string>,
  run: RequestRun,
): Promise<CommandOutcome> {
  const { abort, interaction, host, settings, secrets } = run;
  // An interrupt kills the commands of the agent's turn, as a cancel does.
  const signals = [abort.signal, interaction.interruptSignal];
  if (options.signal) signals.push(options.signal);
  const running = runCommand({
    command,
    ...(options.cwd === undefined ? {} : { cwd: options.cwd }),
    env: { ...agentEnv, ...options.env },
    hiddenEnv: settings.hiddenEnv,
    signal: AbortSignal.any(signals),
    secrets,
    ...(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }),
    maxCapturedBytes: options.maxCapturedBytes ?? settings.maxCapturedStdout,
    killGraceMs: settings.killGraceMs,
    // An interrupt waits for the turn's commands to be gone (docs/PROTOCOL.md "Interrupt"), not just signalled.
    awaitGroupExit: true,
    onOutput: (stream, text) => {
      try {
        options.onOutput?.(stream, text);
      } catch {}
      return host.emit(outputMessage(stream, text, command));
    },
  });
  run.agentCommands ??= new Set();
  const agentCommands = run.agentCommands;
  agentCommands.add(running);
  void running.finally(() => agentCommands.delete(running)).catch(() => {});
  return running;
}

/** A request naming an agent its handler does not serve ends here, before anything of it runs. */
function checkAgent(request: InvocationMessage, handler: AgentHandler): void {
  const agents = handler.agents;
  if (agents === undefined || request.agent === undefined || agents.includes(request.agent)) return;
  throw new RequestFailure(
    `unknown agent ${JSON.stringify(request.agent)}: this runtime runs ${agents.map((name) => JSON.stringify(name)).join(", ")}`,
    { code: ErrorCode.UnknownAgent, agent: request.agent, agents: [...agents] },
  );
}

/** A directory the request names that the runtime cannot create: `invalid_field`, naming the field that holds it. */
function unusableArtifactsDir(request: RequestMessage, error: ArtifactsDirError): RequestFailure {
  const index = (request.artifacts_dirs ?? []).findIndex((dir) => resolve(dir) === error.dir);
  const field = index === -1 ? "artifacts_dir" : `artifacts_dirs[${index}]`;
  return new RequestFailure(`${field}: ${error.message}`, { code: ErrorCode.InvalidField, field });
}

export function artifactsDirs(request: RequestMessage): string[] {
  const dirs = [...(request.artifacts_dirs ?? [])];
  if (request.artifacts_dir !== undefined && !dirs.includes(request.artifacts_dir)) dirs.push(request.artifacts_dir);
  return dirs;
}

function describeError(error: unknown): string {
  if (error instanceof Error) return error.message || error.name;
  return String(error);
}
