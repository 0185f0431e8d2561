import { type Options, query, type SDKResultMessage } from "@anthropic-ai/claude-agent-sdk";
import { DEFAULT_KILL_GRACE_MS } from "../../commands/index.js";
import type { AgentHandler, AgentInvocation, AgentResult, MessageSender } from "../../handler.js";
import { cancelled, failRun } from "../shared/fail.js";
import { endProcesses, type ProcessEntry } from "../shared/process-tree.js";
import { AgentProcess } from "./agent-process.js";
import { findClaudeBinary } from "./check.js";
import { type ClaudeHandlerOptions, DEFAULT_EXIT_TIMEOUT_MS } from "./options.js";
import { permissionOptions } from "./permissions.js";
import { ClaudeRelay } from "./relay.js";
import { describeResult, resultMetadata } from "./result.js";
import { ConversationSessionStore } from "./session-store.js";
import { ClaudeUsage } from "./usage.js";

/**
 * The `claude` agent, on the Claude Agent SDK: Claude Code with its own tools
 * (the `claude_code` preset), a permission mode that never stops to ask (the
 * sandbox is the boundary), the client's system prompt appended to Claude
 * Code's, the client's model and `agent_env` over the runtime's environment.
 * With a person in the loop, Claude Code asks before tool calls instead
 * (permissions.ts), and an interrupt stops its turn (`interrupt()`).
 */
export function createClaudeHandler(options: ClaudeHandlerOptions = {}): AgentHandler {
  return { run: (invocation, sender) => runClaude(invocation, sender, options) };
}

export const claudeHandler: AgentHandler = createClaudeHandler();

async function runClaude(
  invocation: AgentInvocation,
  sender: MessageSender,
  options: ClaudeHandlerOptions,
): Promise<AgentResult> {
  const binary = options.pathToClaudeCodeExecutable ?? findClaudeBinary();
  if (binary === undefined) failRun(sender, "the claude agent cannot find the Claude Code binary");
  if (invocation.signal.aborted) throw cancelled(invocation.signal);

  const killGraceMs = options.killGraceMs ?? DEFAULT_KILL_GRACE_MS;
  const agent = new AgentProcess({ logger: invocation.logger, killGraceMs });
  const abort = new AbortController();
  // Snapshot the process tree before anything is killed: Claude Code starts
  // each Bash command in a process group of its own, and once Claude Code is
  // gone its children can no longer be found from its pid.
  let cancelling: Promise<void> | undefined;
  const onCancel = () => {
    cancelling ??= (async () => {
      let snapshot: ProcessEntry[] = [];
      try {
        snapshot = await agent.tree();
      } finally {
        abort.abort();
      }
      await agent.terminate(snapshot);
    })();
  };
  invocation.signal.addEventListener("abort", onCancel, { once: true });

  // With a conversation, Claude Code's transcript lives in it: resumed from it, mirrored into it.
  const sessions = invocation.conversation ? new ConversationSessionStore(invocation.conversation) : undefined;
  const resume = await sessions?.resumeId();
  const env = agentEnvironment(invocation);
  const relay = new ClaudeRelay(sender, invocation.logger);
  const usage = new ClaudeUsage();
  let result: SDKResultMessage | undefined;
  let failure: unknown;
  let onInterrupt: (() => void) | undefined;
  let interrupting: Promise<void> | undefined;
  try {
    const run = query({
      prompt: invocation.userPrompt,
      options: {
        ...sdkOptions(invocation, options, binary, agent, abort, env),
        ...(sessions ? { sessionStore: sessions, ...(resume ? { resume } : {}) } : {}),
      },
    });
    onInterrupt = () => {
      interrupting = interruptTurn(run, agent, killGraceMs, invocation);
    };
    invocation.interruptSignal.addEventListener("abort", onInterrupt, { once: true });
    for await (const message of run) {
      if (invocation.signal.aborted) break;
      if (message.type === "result") result = message;
      else {
        if (message.type === "assistant") usage.see(message);
        await relay.handle(message);
      }
    }
  } catch (error) {
    // After an unsuccessful result the SDK also throws; the result says more.
    failure = error;
  } finally {
    invocation.signal.removeEventListener("abort", onCancel);
    if (onInterrupt) invocation.interruptSignal.removeEventListener("abort", onInterrupt);
    // The turn's tool processes are gone before the request goes on.
    if (interrupting) await interrupting;
    if (cancelling) await cancelling;
    else if (!(await agent.waitForExit(options.exitTimeoutMs ?? DEFAULT_EXIT_TIMEOUT_MS))) await agent.terminate();
    if (sessions && resume === undefined && result) {
      await sessions.removeLocalCopy(result.session_id, env).catch((error: unknown) => {
        invocation.logger.debug(`claude: the first run's local transcript could not be removed: ${String(error)}`);
      });
    }
  }

  if (invocation.signal.aborted) throw cancelled(invocation.signal);
  if (invocation.interrupted) {
    // What Claude wrote before the interrupt is the answer; the result's outcome is the interrupt's.
    const metadata = result ? resultMetadata(result, invocation.model) : { agent: "claude", model: invocation.model };
    // The interrupted turn stays in the conversation, as the client's next run continues from it.
    if (result) await sessions?.remember(result.session_id);
    return { type: "text", text: relay.texts.join("\n\n"), metadata, usage: usage.toUsage(result) };
  }
  if (result === undefined) {
    const reason = failure instanceof Error ? failure.message : String(failure ?? "no result");
    const stderr = agent.stderrTail;
    failRun(sender, `the claude agent failed: ${reason}`, stderr ? { stderr: stderr.slice(-2000) } : {});
  }
  const metadata = { ...resultMetadata(result, invocation.model), usage: usage.toUsage(result) };
  const problem = describeResult(result, invocation.outputFormat !== undefined);
  if (problem) failRun(sender, problem.message, { ...metadata, ...problem.metadata });
  await sessions?.remember(result.session_id);
  if (invocation.outputFormat && result.subtype === "success") {
    return {
      type: "structured_output",
      structuredOutput: result.structured_output as Record<string, unknown>,
      metadata,
    };
  }
  return { type: "text", text: result.subtype === "success" ? result.result : "", metadata };
}

/**
 * Stops Claude Code's turn and the tool processes it started: they are
 * listed before the interrupt (Claude Code starts each Bash command in a
 * process group of its own), then whatever of them outlives the interrupt
 * gets SIGTERM, and SIGKILL after the grace. Claude Code itself goes on to
 * end its turn.
 */
async function interruptTurn(
  run: ReturnType<typeof query>,
  agent: AgentProcess,
  killGraceMs: number,
  invocation: AgentInvocation,
): Promise<void> {
  const root = agent.pid;
  const tools = (await agent.tree()).filter((entry) => entry.pid !== root);
  await run
    .interrupt()
    .catch((error: unknown) => invocation.logger.debug(`claude: interrupt failed: ${String(error)}`));
  await endProcesses(tools, killGraceMs);
}

/** Claude Code's environment: the runtime's, then `agent_env`, then two defaults. */
function agentEnvironment(invocation: AgentInvocation): Record<string, string | undefined> {
  const env: Record<string, string | undefined> = { ...process.env, ...invocation.env };
  // Claude Code refuses to skip permission prompts as root unless IS_SANDBOX
  // is exactly "1"; runtimeuse runs inside a sandbox by design. Only the
  // client (agent_env) may say otherwise.
  if (invocation.env.IS_SANDBOX === undefined) env.IS_SANDBOX = "1";
  // No auto-update, telemetry or error reporting from inside a sandbox; a
  // client can turn them back on through agent_env.
  env.CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC ??= "1";
  return env;
}

function sdkOptions(
  invocation: AgentInvocation,
  options: ClaudeHandlerOptions,
  binary: string,
  agent: AgentProcess,
  abort: AbortController,
  env: Record<string, string | undefined>,
): Options {
  const systemPrompt = invocation.systemPrompt.trim()
    ? { type: "preset" as const, preset: "claude_code" as const, append: invocation.systemPrompt }
    : { type: "preset" as const, preset: "claude_code" as const };
  return {
    model: invocation.model,
    systemPrompt,
    tools: { type: "preset", preset: "claude_code" },
    ...permissionOptions(invocation),
    env,
    cwd: options.cwd ?? process.cwd(),
    abortController: abort,
    pathToClaudeCodeExecutable: binary,
    spawnClaudeCodeProcess: agent.spawn,
    ...(options.maxTurns === undefined ? {} : { maxTurns: options.maxTurns }),
    ...(invocation.outputFormat
      ? { outputFormat: { type: "json_schema", schema: invocation.outputFormat.schema } }
      : {}),
  };
}
