import { type Tool, tool } from "@openai/agents";
import type { CommandOutcome } from "../../commands/index.js";
import type { AgentInvocation } from "../../handler.js";
import { SHELL_TOOL_DEFAULTS, type ShellToolOptions } from "./options.js";

export const SHELL_TOOL_NAME = "shell";

const PARAMETERS = {
  type: "object" as const,
  properties: {
    command: { type: "string", description: "The command line, run with /bin/sh -c." },
    timeout_ms: {
      type: ["integer", "null"],
      description: `Kill the command after this many milliseconds (null: the default, ${SHELL_TOOL_DEFAULTS.defaultTimeoutMs / 60_000} minutes).`,
    },
  },
  required: ["command", "timeout_ms"],
  additionalProperties: false as const,
};

/**
 * The OpenAI agent's shell: a function tool (every Responses model accepts
 * one) that runs each command through `invocation.runCommand`, so the
 * command's output streams to the client as `command_output_message`s with
 * the agent's command line, `agent_env` is in its environment, secrets are
 * redacted, and cancel kills its whole process group.
 */
export function createShellTool(invocation: AgentInvocation, options: ShellToolOptions = {}): Tool {
  const settings = { ...SHELL_TOOL_DEFAULTS, ...options };
  return tool({
    name: SHELL_TOOL_NAME,
    description:
      "Run a shell command in the sandbox and get back its exit code, stdout and stderr. " +
      "Commands do not share state: each runs in a fresh shell in the same working directory.",
    parameters: PARAMETERS,
    strict: true,
    // Held for the client's approval (the SDK pauses the run) when its policy covers the shell.
    needsApproval: async () => invocation.needsApproval(SHELL_TOOL_NAME, "execute"),
    execute: async (input, _context, details) => {
      const { command, timeoutMs } = parseInput(input, settings);
      const outcome = await invocation.runCommand(command, {
        timeoutMs,
        maxCapturedBytes: settings.maxCapturedChars,
        ...(settings.cwd === undefined ? {} : { cwd: settings.cwd }),
        ...(details?.signal === undefined ? {} : { signal: details.signal }),
      });
      return formatOutcome(outcome, timeoutMs, settings.maxOutputChars);
    },
  });
}

function parseInput(input: unknown, settings: typeof SHELL_TOOL_DEFAULTS): { command: string; timeoutMs: number } {
  const record = (typeof input === "object" && input !== null ? input : {}) as Record<string, unknown>;
  const command = record.command;
  if (typeof command !== "string" || command.trim().length === 0) {
    throw new Error("the shell tool needs a non-empty string `command`");
  }
  const asked = record.timeout_ms;
  const timeoutMs =
    typeof asked === "number" && Number.isFinite(asked) && asked > 0
      ? Math.min(Math.floor(asked), settings.maxTimeoutMs)
      : settings.defaultTimeoutMs;
  return { command, timeoutMs };
}

/** What the model reads back: exit code, notes, then each non-empty stream, each capped. */
export function formatOutcome(outcome: CommandOutcome, timeoutMs: number, maxChars: number): string {
  const lines = [`exit_code: ${outcome.exitCode}`];
  if (outcome.timedOut) lines.push(`note: the command was killed after its timeout of ${timeoutMs} ms`);
  if (outcome.cancelled) lines.push("note: the command was cancelled");
  for (const stream of ["stdout", "stderr"] as const) {
    const text = outcome[stream];
    const dropped = outcome[stream === "stdout" ? "stdoutTruncated" : "stderrTruncated"];
    if (text.length === 0 && !dropped) continue;
    lines.push(`${stream}:`);
    if (dropped) lines.push(`[earlier ${stream} was dropped: only its tail was kept]`);
    lines.push(truncateMiddle(text, maxChars));
  }
  return lines.join("\n");
}

/** Keeps the head and the tail of `text`, at most `maxChars` in all, with a note in between. */
export function truncateMiddle(text: string, maxChars: number): string {
  if (text.length <= maxChars) return text;
  const head = Math.ceil(maxChars / 2);
  const tail = maxChars - head;
  const omitted = text.length - head - tail;
  return `${text.slice(0, head)}\n[... ${omitted} characters omitted: the output was longer than ${maxChars} characters ...]\n${tail > 0 ? text.slice(-tail) : ""}`;
}
