import { type Command, type CommandExecutionMessage, ErrorCode, type TerminalMessage } from "@runtimeuse/protocol";
import { type CommandOutcome, runCommand } from "../commands/index.js";
import type { AgentCommandOptions } from "../handler.js";
import { AgentCommands } from "./agent-commands.js";
import { type CapturedResult, CLIENT_FRAME_LIMIT_BYTES, commandResultsMessage } from "./frame-limits.js";
import type { RequestRun } from "./request-run.js";
import { RequestFailure } from "./result.js";
import { describe, outputMessage } from "./sender.js";

/*
 * The commands of a request: its own (pre- and post-agent, and a command
 * execution's list), and those its agent runs through `runCommand`.
 */

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

/**
 * Runs the pre- or post-agent commands in order; false when the request was
 * aborted meanwhile. A command that fails fails the request.
 */
export async function runPhaseCommands(
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

/** A command execution's commands, in order until one fails: the terminal with what each captured. */
export async function runCommands(
  request: CommandExecutionMessage,
  run: RequestRun,
): Promise<TerminalMessage | undefined> {
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

/**
 * A command the agent runs (`invocation.runCommand`): killed by a cancel, an
 * interrupt or the end of the agent's turn, its output streamed.
 */
export function agentCommand(
  command: string,
  options: AgentCommandOptions,
  agentEnv: Record<string, string>,
  run: RequestRun,
): Promise<CommandOutcome> {
  const mistake = commandMistake(command, options);
  if (mistake !== undefined) return Promise.reject(new TypeError(`runCommand: ${mistake}`));
  if (run.turnOver) {
    return Promise.reject(new Error("runCommand: the handler has already returned; commands run only during its turn"));
  }
  const { abort, interaction, host, settings, secrets } = run;
  run.agentCommands ??= new AgentCommands();
  // An interrupt kills the commands of the agent's turn, as a cancel does, and so does the turn's end.
  const signals = [abort.signal, interaction.interruptSignal, run.agentCommands.signal];
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
  run.agentCommands.add(running);
  return running;
}

const isObject = (value: unknown): boolean => typeof value === "object" && value !== null && !Array.isArray(value);

/**
 * What is wrong with a handler's `runCommand` call, if anything. Checked before
 * anything runs: a command line that is no string would reach the shell as
 * `undefined` and the client as a frame it cannot read, and a timeout that is
 * no positive number would kill the command at once.
 */
function commandMistake(command: unknown, options: unknown): string | undefined {
  if (typeof command !== "string") return `the command line must be a string, got ${describe(command)}`;
  if (!isObject(options)) return `options must be an object, got ${describe(options)}`;
  const { cwd, env, timeoutMs, maxCapturedBytes, signal, onOutput } = options as Record<string, unknown>;
  if (cwd !== undefined && typeof cwd !== "string") return `options.cwd must be a string, got ${describe(cwd)}`;
  if (env !== undefined && !isObject(env)) return `options.env must be an object of strings, got ${describe(env)}`;
  if (timeoutMs !== undefined && !(typeof timeoutMs === "number" && timeoutMs > 0)) {
    return `options.timeoutMs must be a number of milliseconds above 0 (Infinity for no limit), got ${describe(timeoutMs)}`;
  }
  if (
    maxCapturedBytes !== undefined &&
    !(Number.isSafeInteger(maxCapturedBytes) && (maxCapturedBytes as number) >= 0)
  ) {
    return `options.maxCapturedBytes must be a whole number of bytes, 0 or more, got ${describe(maxCapturedBytes)}`;
  }
  if (signal !== undefined && !(signal instanceof AbortSignal)) {
    return `options.signal must be an AbortSignal, got ${describe(signal)}`;
  }
  if (onOutput !== undefined && typeof onOutput !== "function") {
    return `options.onOutput must be a function, got ${describe(onOutput)}`;
  }
  return undefined;
}
