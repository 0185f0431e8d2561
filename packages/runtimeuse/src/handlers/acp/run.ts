import type {
  ContentBlock,
  NewSessionRequest,
  NewSessionResponse,
  PromptResponse,
} from "@agentclientprotocol/sdk/unstable";
import { ErrorCode } from "@runtimeuse/protocol";
import type { AgentInvocation, AgentResult, MessageSender } from "../../handler.js";
import { cancelled, failRun } from "../shared/fail.js";
import { clockTicksNow, endProcesses, type ProcessEntry } from "../shared/process-tree.js";
import type { AgentProcess } from "./agent-process.js";
import { chooseModel } from "./model.js";
import type { AcpLimits, AcpPermissionPolicy } from "./options.js";
import { AcpRelay } from "./relay.js";
import { RequestSessionHost } from "./session-host.js";
import { type AnswerChecker, answerChecker, correctionPrompt, schemaInstructions } from "./structured.js";
import { AcpTerminals } from "./terminals.js";
import { UsageTally } from "./usage.js";

export interface RunSettings {
  name: string;
  cwd: string;
  permissions: AcpPermissionPolicy;
  showThoughts: boolean;
  limits: AcpLimits;
}

/**
 * One invocation on an ACP agent process: a new ACP session in the request's
 * working directory, the prompt (system prompt, user prompt, and for an output
 * schema the JSON instructions), the updates relayed as they come, then the
 * answer, checked against the schema with one corrective turn.
 *
 * Cancel sends `session/cancel`; the agent gets `cancelGraceMs` to end the
 * turn, then the processes it started during this request (found by walking
 * its process tree) are killed. Terminals the runtime ran for it die with the
 * request's signal.
 */
export async function runOnAgent(
  agent: AgentProcess,
  invocation: AgentInvocation,
  sender: MessageSender,
  settings: RunSettings,
): Promise<AgentResult> {
  const checker = invocation.outputFormat ? compileSchema(invocation.outputFormat.schema, sender) : undefined;
  const terminals = new AcpTerminals(invocation, settings.cwd, settings.limits.terminalOutputBytes);
  const relay = new AcpRelay(sender, invocation.logger, {
    showThoughts: settings.showThoughts,
    coalesceMs: settings.limits.coalesceMs,
    isOwnTerminal: (id) => terminals.has(id),
  });
  const host = new RequestSessionHost(
    invocation,
    relay,
    terminals,
    settings.cwd,
    settings.permissions,
    settings.limits,
  );
  const before = startMark(agent);
  const api = agent.connection.agent;

  let session: NewSessionResponse;
  try {
    session = await api.request("session/new", newSessionRequest(agent, invocation, settings.cwd));
  } catch (error) {
    if (invocation.signal.aborted) throw cancelled(invocation.signal);
    failRun(sender, `the ${settings.name} agent could not open a session: ${describe(error, agent)}`, crashInfo(agent));
  }
  const sessionId = session.sessionId;
  agent.sessions.set(sessionId, host);
  const metadata: Record<string, unknown> = {
    agent: settings.name,
    model: await chooseModel(agent, session, invocation),
    session_id: sessionId,
  };
  const usage = new UsageTally();
  const turn: Turn = { agent, sessionId, invocation, sender, settings, before, relay };
  const prompt = (blocks: ContentBlock[]) => promptTurn(turn, blocks);

  try {
    let response = await prompt(initialPrompt(agent, invocation));
    await relay.drain();
    usage.add(response.usage);
    if (invocation.interrupted) {
      // What the agent said before the interrupt is the answer, unchecked against any schema.
      return { type: "text", text: relay.answerText.trim(), metadata: withUsage(metadata, usage, relay) };
    }
    let answer = relay.answerText;
    let structured: Record<string, unknown> | undefined;
    if (checker) {
      let checked = checker.check(answer);
      if (!checked.ok && response.stopReason === "end_turn") {
        invocation.logger.log(`${settings.name}: the answer does not match the output schema; asking once more`);
        relay.newTurn();
        response = await prompt([{ type: "text", text: correctionPrompt(checked.problems) }]);
        await relay.drain();
        usage.add(response.usage);
        answer = relay.answerText;
        checked = checker.check(answer);
      }
      if (checked.ok) structured = checked.value;
      else if (response.stopReason === "end_turn") {
        failRun(
          sender,
          `the ${settings.name} agent's answer does not match the output schema: ${checked.problems.join("; ")}`,
          {
            ...withUsage(metadata, usage, relay),
            code: ErrorCode.InvalidStructuredOutput,
            validation_errors: checked.problems,
          },
        );
      }
    }
    metadata.stop_reason = response.stopReason;
    const final = withUsage(metadata, usage, relay);
    const problem = stopProblem(response.stopReason, settings.name);
    if (problem) failRun(sender, problem, final);
    if (structured) return { type: "structured_output", structuredOutput: structured, metadata: final };
    return { type: "text", text: answer.trim(), metadata: final };
  } finally {
    agent.sessions.delete(sessionId);
    await host.terminals.closeAll();
    closeSession(agent, sessionId);
  }
}

interface Turn {
  agent: AgentProcess;
  sessionId: string;
  invocation: AgentInvocation;
  sender: MessageSender;
  settings: RunSettings;
  /** Tells the agent's processes started during this request from those before it. */
  before: StartMark;
  relay: AcpRelay;
}

/** One `session/prompt`, with cancel handled and a dead agent reported as the request's error. */
async function promptTurn(context: Turn, prompt: ContentBlock[]): Promise<PromptResponse> {
  const { agent, sessionId, invocation, settings } = context;
  const signal = invocation.signal;
  if (signal.aborted) throw cancelled(signal);
  const turn = agent.connection.agent.request("session/prompt", { sessionId, prompt });
  let onAbort: (() => void) | undefined;
  const stopped = new Promise<void>((resolve) => {
    onAbort = () => resolve();
    signal.addEventListener("abort", onAbort, { once: true });
  });
  // An interrupt ends the turn as a cancel does (session/cancel), but the request goes on with its answer so far.
  const interruptSignal = invocation.interruptSignal;
  let onInterrupt: (() => void) | undefined;
  const interrupted = new Promise<void>((resolve) => {
    onInterrupt = () => resolve();
    if (interruptSignal.aborted) resolve();
    else interruptSignal.addEventListener("abort", onInterrupt, { once: true });
  });
  try {
    const first = await Promise.race([
      turn.then(() => "answered" as const),
      stopped.then(() => "cancelled" as const),
      interrupted.then(() => "interrupted" as const),
    ]);
    if (first === "cancelled") {
      await cancelTurn(context, turn);
      throw cancelled(signal);
    }
    if (first === "interrupted") {
      await cancelTurn(context, turn);
      if (signal.aborted) throw cancelled(signal);
      // The turn's own response when it ended within the grace, else a cancelled one.
      const ended: PromptResponse = { stopReason: "cancelled" };
      return await Promise.race([turn.catch(() => ended), Promise.resolve(ended)]);
    }
    return await turn;
  } catch (error) {
    if (signal.aborted) throw cancelled(signal);
    // The pipe may close a moment before the exit is reported; the exit says more.
    await Promise.race([agent.exited, new Promise((resolve) => setTimeout(resolve, 1_000))]);
    await context.relay.drain();
    return failRun(context.sender, `the ${settings.name} agent failed: ${describe(error, agent)}`, crashInfo(agent));
  } finally {
    if (onAbort) signal.removeEventListener("abort", onAbort);
    if (onInterrupt) interruptSignal.removeEventListener("abort", onInterrupt);
  }
}

/**
 * `session/cancel`, then up to `cancelGraceMs` for the turn to end, then the
 * processes the agent started since the request began are ended. While other
 * requests share the agent process, its new processes cannot be told apart,
 * so they are left alone (and the fact is logged).
 */
async function cancelTurn(context: Turn, turn: Promise<PromptResponse>): Promise<void> {
  const { agent, sessionId, settings, invocation, before } = context;
  void agent.connection.agent.notify("session/cancel", { sessionId }).catch(() => {});
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    turn.then(
      () => undefined,
      () => undefined,
    ),
    new Promise((resolve) => {
      timer = setTimeout(resolve, settings.limits.cancelGraceMs);
    }),
  ]);
  clearTimeout(timer);
  const left = await before.startedSince();
  if (left.length === 0) return;
  if (agent.sessions.size > 1) {
    invocation.logger.warn(
      `${settings.name}: ${left.length} process(es) started during the cancelled request are left running: other requests share the agent process`,
    );
    return;
  }
  await endProcesses(left, settings.limits.killGraceMs);
}

interface StartMark {
  /** The agent's live descendants started since the mark. */
  startedSince(): Promise<ProcessEntry[]>;
}

/**
 * Marks the start of a request. On Linux a clock reading (listing every
 * process costs tens of milliseconds on a busy machine, and only a cancel
 * needs the list); elsewhere the agent's process tree as it is now.
 */
function startMark(agent: AgentProcess): StartMark {
  const ticks = clockTicksNow();
  if (ticks !== undefined) {
    return { startedSince: async () => (await agent.descendants()).filter((entry) => Number(entry.start) >= ticks) };
  }
  const before = agent.descendants();
  return {
    startedSince: async () => {
      const known = new Set((await before).map((entry) => `${entry.pid}:${entry.start}`));
      return (await agent.descendants()).filter((entry) => !known.has(`${entry.pid}:${entry.start}`));
    },
  };
}

function newSessionRequest(agent: AgentProcess, invocation: AgentInvocation, cwd: string): NewSessionRequest {
  const request: NewSessionRequest = { cwd, mcpServers: [] };
  if (takesSystemPrompt(agent) && invocation.systemPrompt.trim()) {
    request.systemPrompt = { mode: "append", content: [{ type: "text", text: invocation.systemPrompt }] };
  }
  return request;
}

/**
 * The system prompt goes where the agent takes one: `systemPrompt` (append
 * mode) on `session/new` when it advertises `sessionCapabilities.systemPrompt`,
 * else as the prompt's first text block, marked as instructions.
 */
function initialPrompt(agent: AgentProcess, invocation: AgentInvocation): ContentBlock[] {
  const blocks: ContentBlock[] = [];
  if (!takesSystemPrompt(agent) && invocation.systemPrompt.trim()) {
    blocks.push({ type: "text", text: `<system-instructions>\n${invocation.systemPrompt}\n</system-instructions>` });
  }
  blocks.push({ type: "text", text: invocation.userPrompt });
  if (invocation.outputFormat) blocks.push({ type: "text", text: schemaInstructions(invocation.outputFormat.schema) });
  return blocks;
}

function takesSystemPrompt(agent: AgentProcess): boolean {
  return agent.initialized.agentCapabilities?.sessionCapabilities?.systemPrompt != null;
}

function stopProblem(reason: PromptResponse["stopReason"], name: string): string | undefined {
  switch (reason) {
    case "end_turn":
      return undefined;
    case "max_tokens":
      return `the ${name} agent stopped: it reached its token limit`;
    case "max_turn_requests":
      return `the ${name} agent stopped: it reached its turn limit`;
    case "refusal":
      return `the ${name} agent refused to answer`;
    case "cancelled":
      return `the ${name} agent cancelled the turn by itself`;
    default:
      return `the ${name} agent stopped (${String(reason)})`;
  }
}

function withUsage(metadata: Record<string, unknown>, usage: UsageTally, relay: AcpRelay): Record<string, unknown> {
  const figures = usage.result(relay.costUsd);
  return figures ? { ...metadata, usage: figures } : { ...metadata };
}

function compileSchema(schema: Record<string, unknown>, sender: MessageSender): AnswerChecker {
  try {
    return answerChecker(schema);
  } catch (error) {
    failRun(sender, `the output schema is not a usable JSON Schema: ${error instanceof Error ? error.message : error}`);
  }
}

/** Ends the session on the agent when it can (claude-agent-acp keeps a process per open session). */
function closeSession(agent: AgentProcess, sessionId: string): void {
  if (!agent.alive || agent.initialized.agentCapabilities?.sessionCapabilities?.close == null) return;
  void agent.connection.agent.request("session/close", { sessionId }).catch(() => {});
}

function describe(error: unknown, agent: AgentProcess): string {
  const exit = agent.exitDescription;
  if (exit !== undefined) return `its process exited (${exit})`;
  if (error instanceof Error) return error.message;
  if (typeof error === "object" && error !== null && "message" in error) return String(error.message);
  return String(error);
}

function crashInfo(agent: AgentProcess): Record<string, unknown> {
  if (agent.alive) return {};
  const stderr = agent.stderrTail;
  return { exit: agent.exitDescription, ...(stderr ? { stderr: stderr.slice(-2000) } : {}) };
}
