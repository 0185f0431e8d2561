import {
  type Command,
  type CommandExecutionMessage,
  type CommandResultItem,
  ErrorCode,
  type InvocationMessage,
  type OutputFormat,
  OutputFormatSchema,
  type RequestMessage,
  type RuntimeMessage,
  type TerminalMessage,
} from "@runtimeuse/protocol";
import { runCommand } from "../commands/runner.js";
import type { CommandOutcome, OutputStream } from "../commands/types.js";
import { DownloadError } from "../downloads/errors.js";
import { createLogger, type LogSink } from "../logger.js";
import type { AgentCommandOptions, AgentHandler, AgentInvocation, AgentResult, MessageSender } from "../types.js";
import { errorMessage } from "./engine.js";

/** What a request's runner needs from its connection. */
export interface RequestHost {
  /** Sends a non-terminal message of this request; resolves when the socket has room. */
  emit(message: RuntimeMessage): Promise<void>;
  /** Ends the request. Only the first terminal counts; later ones are dropped by the engine. */
  terminate(terminal: TerminalMessage): void;
  setPhase(phase: string): void;
  log: LogSink;
  /** Called at the start of the request with its artifacts directories. */
  watchArtifacts?(dirs: string[], ignoreContent: string | undefined): Promise<void>;
  /** Called right before the terminal: offer every artifact written so far. */
  offerArtifacts?(): Promise<void>;
}

export interface RequestSettings {
  handler: AgentHandler;
  /** Variable names never passed to commands (the runtime's auth token). */
  hiddenEnv: readonly string[];
  maxCapturedStdout: number;
  killGraceMs: number;
}

/** Raised inside the lifecycle to end the request with a given error terminal. */
class RequestFailure extends Error {
  constructor(
    message: string,
    readonly metadata: Record<string, unknown>,
  ) {
    super(message);
  }
}

/**
 * Runs one request through its lifecycle (PROTOCOL.md "Invocation lifecycle"
 * and "Command execution"). Always ends by calling `host.terminate` once; never
 * throws. `signal` aborts everything it started.
 */
export async function runRequest(
  request: RequestMessage,
  signal: AbortSignal,
  host: RequestHost,
  settings: RequestSettings,
): Promise<void> {
  const secrets = request.secrets_to_redact;
  const streamCommand = (command: Command, extra: { env?: Record<string, string> } = {}) =>
    runCommand({
      command: command.command,
      ...(command.cwd === undefined ? {} : { cwd: command.cwd }),
      env: { ...extra.env, ...command.env },
      hiddenEnv: settings.hiddenEnv,
      signal,
      secrets,
      maxCapturedBytes: settings.maxCapturedStdout,
      killGraceMs: settings.killGraceMs,
      onOutput: (stream, text) => host.emit(outputMessage(stream, text, command.command)),
    });

  try {
    const dirs = artifactsDirs(request);
    if (dirs.length > 0 && host.watchArtifacts) {
      host.setPhase("watching_artifacts");
      await host.watchArtifacts(dirs, request.artifacts_ignore_content);
    }
    const downloadables =
      request.message_type === "invocation_message"
        ? request.pre_agent_downloadables
        : request.pre_execution_downloadables;
    if (downloadables && downloadables.length > 0) {
      host.setPhase("downloading");
      try {
        // Loaded on first use: tar and yauzl are not needed for the server to start.
        const { downloadAll } = await import("../downloads/index.js");
        await downloadAll(downloadables, { signal, secrets, logger: createLogger(host.log, request.source_id) });
      } catch (error) {
        if (signal.aborted) return;
        if (!(error instanceof DownloadError)) {
          throw new RequestFailure(`download failed: ${String(error)}`, { code: ErrorCode.DownloadFailed });
        }
        throw new RequestFailure(error.message, {
          code: ErrorCode.DownloadFailed,
          reason: error.reason,
          ...(error.status === undefined ? {} : { status: error.status }),
        });
      }
    }
    const terminal =
      request.message_type === "invocation_message"
        ? await runInvocation(request, signal, host, settings, streamCommand)
        : await runCommands(request, signal, host, streamCommand);
    if (terminal === undefined || signal.aborted) return;
    if (host.offerArtifacts) {
      host.setPhase("offering_artifacts");
      await host.offerArtifacts();
    }
    host.terminate(terminal);
  } catch (error) {
    if (error instanceof RequestFailure) {
      // What a failed command or handler wrote before failing is offered too, before the terminal.
      if (host.offerArtifacts && !signal.aborted) await host.offerArtifacts().catch(() => {});
      host.terminate(errorMessage(error.message, error.metadata));
    } else {
      host.log.write("error", "request failed inside the runtime", { error: describeError(error) });
      host.terminate(errorMessage(`runtime error: ${describeError(error)}`, { code: ErrorCode.InternalError }));
    }
  }
}

type StreamCommand = (command: Command, extra?: { env?: Record<string, string> }) => Promise<CommandOutcome>;

async function runPhaseCommands(
  commands: readonly Command[] | undefined,
  label: "pre-agent" | "post-agent",
  host: RequestHost,
  signal: AbortSignal,
  streamCommand: StreamCommand,
): Promise<boolean> {
  for (const command of commands ?? []) {
    host.setPhase(`${label.replace("-", "_")}_commands`);
    const outcome = await streamCommand(command);
    if (signal.aborted) return false;
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

async function runInvocation(
  request: InvocationMessage,
  signal: AbortSignal,
  host: RequestHost,
  settings: RequestSettings,
  streamCommand: StreamCommand,
): Promise<TerminalMessage | undefined> {
  if (!(await runPhaseCommands(request.pre_agent_invocation_commands, "pre-agent", host, signal, streamCommand))) {
    return undefined;
  }
  host.setPhase("agent");
  const env = request.agent_env ?? {};
  const invocation: AgentInvocation = {
    systemPrompt: request.system_prompt,
    userPrompt: request.user_prompt,
    model: request.model,
    ...optionalOutputFormat(request.output_format_json_schema_str),
    env,
    secrets: [...request.secrets_to_redact],
    signal,
    logger: createLogger(host.log, request.source_id),
    ...(request.source_id === undefined ? {} : { sourceId: request.source_id }),
    runCommand: (command: string, options: AgentCommandOptions = {}) =>
      agentCommand(command, options, env, signal, host, settings, request.secrets_to_redact),
  };
  const sender: MessageSender = {
    sendAssistantMessage: (textBlocks) =>
      host.emit({ message_type: "assistant_message", text_blocks: textBlocks.map(String) }),
    sendErrorMessage: (error, metadata) =>
      host.terminate(errorMessage(String(error), { code: ErrorCode.HandlerError, ...metadata })),
    sendCommandOutput: (command, stream, text) => host.emit(outputMessage(stream, String(text), String(command))),
  };
  let result: AgentResult;
  try {
    result = await settings.handler.run(invocation, sender);
  } catch (error) {
    if (signal.aborted) return undefined;
    throw new RequestFailure(describeError(error), { code: ErrorCode.HandlerError });
  }
  if (signal.aborted) return undefined;
  const resultMessage = toResultMessage(result);
  if (!(await runPhaseCommands(request.post_agent_invocation_commands, "post-agent", host, signal, streamCommand))) {
    return undefined;
  }
  return resultMessage;
}

async function runCommands(
  request: CommandExecutionMessage,
  signal: AbortSignal,
  host: RequestHost,
  streamCommand: StreamCommand,
): Promise<TerminalMessage | undefined> {
  const results: CommandResultItem[] = [];
  host.setPhase("commands");
  for (const command of request.commands) {
    const outcome = await streamCommand(command);
    if (signal.aborted) return undefined;
    results.push({
      command: command.command,
      exit_code: outcome.exitCode,
      stdout: outcome.stdout,
      ...(outcome.stdoutTruncated ? { stdout_truncated: true } : {}),
    });
    if (outcome.exitCode !== 0) break;
  }
  return { message_type: "command_execution_result_message", results };
}

function agentCommand(
  command: string,
  options: AgentCommandOptions,
  agentEnv: Record<string, string>,
  requestSignal: AbortSignal,
  host: RequestHost,
  settings: RequestSettings,
  secrets: readonly string[],
): Promise<CommandOutcome> {
  const signal = options.signal ? AbortSignal.any([requestSignal, options.signal]) : requestSignal;
  return runCommand({
    command,
    ...(options.cwd === undefined ? {} : { cwd: options.cwd }),
    env: { ...agentEnv, ...options.env },
    hiddenEnv: settings.hiddenEnv,
    signal,
    secrets,
    ...(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }),
    maxCapturedBytes: options.maxCapturedBytes ?? settings.maxCapturedStdout,
    killGraceMs: settings.killGraceMs,
    onOutput: (stream, text) => host.emit(outputMessage(stream, text, command)),
  });
}

function outputMessage(stream: OutputStream, text: string, command: string): RuntimeMessage {
  return { message_type: "command_output_message", stream, text, command };
}

function optionalOutputFormat(text: string | undefined): { outputFormat?: OutputFormat } {
  if (text === undefined) return {};
  // Validated at the edge already; parse again to hand the handler a typed value.
  return { outputFormat: OutputFormatSchema.parse(JSON.parse(text)) };
}

function toResultMessage(result: unknown): TerminalMessage {
  const value = result as Partial<AgentResult> | null | undefined;
  const metadata = value?.metadata ?? {};
  if (typeof metadata !== "object" || metadata === null || Array.isArray(metadata)) {
    throw new RequestFailure("the handler returned a result whose metadata is not an object", {
      code: ErrorCode.InvalidResult,
    });
  }
  if (value?.type === "text" && typeof value.text === "string") {
    return { message_type: "result_message", metadata, data: { type: "text", text: value.text } };
  }
  if (value?.type === "structured_output") {
    const output = value.structuredOutput;
    if (typeof output === "object" && output !== null && !Array.isArray(output)) {
      return {
        message_type: "result_message",
        metadata,
        data: { type: "structured_output", structured_output: output },
      };
    }
  }
  throw new RequestFailure(
    'the handler returned an invalid result: expected {type: "text", text: string} or {type: "structured_output", structuredOutput: object}',
    { code: ErrorCode.InvalidResult },
  );
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
