import type { ApprovalPolicy, OutputFormat, ToolKind, Usage } from "@runtimeuse/protocol";
import type { CommandOutcome } from "./commands/index.js";
import type { Conversation } from "./conversations/index.js";
import type { Logger } from "./logger.js";

export type { ApprovalPolicy, OutputFormat, ToolKind, Usage } from "@runtimeuse/protocol";
export type { Conversation, JsonValue } from "./conversations/index.js";

/** What a handler is asked to do: one `invocation_message`, already validated. */
export interface AgentInvocation {
  systemPrompt: string;
  userPrompt: string;
  model: string;
  /** Parsed from `output_format_json_schema_str`; absent when the client sent none. */
  outputFormat?: OutputFormat;
  /** The client's `agent_env` (empty when it sent none). */
  env: Record<string, string>;
  /**
   * The connection's secrets: this request's `secrets_to_redact` and those of
   * earlier requests on the same connection, longest first. Everything sent
   * and logged is already redacted with them.
   */
  secrets: string[];
  /** Fires on cancel, on disconnect, after `sendErrorMessage`, and on server stop. */
  signal: AbortSignal;
  /** Prefixed with the request's `source_id`; redacted. */
  logger: Logger;
  sourceId?: string;
  /**
   * The request's conversation, when it named one (`conversation_id`): what
   * earlier runs saved, and what this run saves when it ends with a result.
   */
  conversation?: Conversation;
  /**
   * The invocation's `agent` field, when the client sent one. A handler with
   * `agents` only sees names from that list; other handlers decide themselves.
   */
  agent?: string;
  /**
   * Runs a shell command through the runtime's command runner: its output
   * streams to the client as `command_output_message`s (redacted), it is killed
   * with its whole process group when `signal` fires, and `agent_env` is in its
   * environment. Agents use this for their shell tool. A command that is no
   * string, or an option of the wrong kind, rejects with a `TypeError` naming it.
   * A command still running when the handler returns or throws is killed with
   * its process group before the request goes on; a call after that rejects.
   */
  runCommand(command: string, options?: AgentCommandOptions): Promise<CommandOutcome>;
  /** The client's `approval_policy` (`"never"` when it sent none). */
  approvalPolicy: ApprovalPolicy;
  /** True when the client accepts questions (`allow_questions`); `ask` answers at once otherwise. */
  allowQuestions: boolean;
  /** True when the client's policy wants tool `toolName` (of `toolKind`) approved before it runs. */
  needsApproval(toolName: string, toolKind?: ToolKind): boolean;
  /**
   * Asks the client whether a tool call may run. Resolves at once with
   * `allow` when the policy does not cover the tool (nobody is asked);
   * otherwise waits for the client's answer, the approval timeout (a deny),
   * an interrupt (a deny) or the end of the request (a deny). Never rejects,
   * but for a `TypeError` when the request cannot be sent (an `input` that is
   * no JSON object or holds what JSON cannot carry, a BigInt or a cycle).
   * On a deny, tell the agent `message`.
   */
  requestApproval(request: ApprovalRequest): Promise<ApprovalDecision>;
  /**
   * Asks the client a question. Resolves with its answer; or, unanswered
   * (questions not allowed by the client, the timeout, an interrupt, the end
   * of the request), with `answered: false` and a `message` for the agent.
   * Never rejects, but for a `TypeError` when the question cannot be sent
   * (a `question` that is no string, options that are no `{label}` objects).
   */
  ask(question: Question): Promise<QuestionAnswer>;
  /**
   * Fires when the client interrupts the turn: stop the agent's turn, and
   * return what it produced so far (the runtime flags the result
   * `interrupted`). Commands from `runCommand` are killed by it already.
   */
  interruptSignal: AbortSignal;
  /** True once the client interrupted the turn (cheaper than reading `interruptSignal`). */
  readonly interrupted: boolean;
}

export interface ApprovalRequest {
  toolName: string;
  /** Derived from the name for the built-in agents' tools (`other` for unknown ones) when absent. */
  toolKind?: ToolKind;
  /** The tool's input; redacted before it is sent. */
  input: Record<string, unknown>;
  /** Why the agent wants to run it, when it says. */
  reason?: string;
}

export interface ApprovalDecision {
  decision: "allow" | "deny";
  /** Who decided: the client, the policy (not asked), or the wait ended by timeout, interrupt or cancel. */
  by: "client" | "policy" | "timeout" | "interrupt" | "cancel";
  /** On a deny, what to tell the agent (the client's message included). */
  message?: string;
}

export interface Question {
  question: string;
  header?: string;
  options?: Array<{ label: string; description?: string }>;
  multiSelect?: boolean;
}

export type QuestionAnswer =
  | { answered: true; answer: string }
  | { answered: false; by: "not_allowed" | "timeout" | "interrupt" | "cancel"; message: string };

export interface AgentCommandOptions {
  cwd?: string;
  /** Merged over the runtime's environment and the invocation's `env`. */
  env?: Record<string, string>;
  /**
   * Kill the command after this many milliseconds (any number above 0, days
   * included; `Infinity` for no limit); the outcome reports `timedOut`.
   */
  timeoutMs?: number;
  /** Cap on the stdout/stderr kept in the outcome, in bytes (a whole number; the stream to the client is not capped). */
  maxCapturedBytes?: number;
  /** Extra abort signal (the invocation's own signal always applies). */
  signal?: AbortSignal;
  /**
   * Sees each piece of output too (redacted, in order per stream), besides the
   * client; for agents that hand the output back themselves. Returns nothing:
   * it cannot slow the command down.
   */
  onOutput?: (stream: "stdout" | "stderr", text: string) => void;
}

/** How a handler talks to the client while it runs. */
export interface MessageSender {
  /**
   * Streams one `assistant_message`. The promise resolves once the socket has
   * room again: handlers that stream a lot should await it (backpressure);
   * handlers that do not may ignore it. Blocks that are not strings are sent
   * as `String(block)`; anything but an array throws a `TypeError`. A
   * message longer than a client's 1 MiB frame arrives as several, in order
   * (see docs/PROTOCOL.md), and so does `sendCommandOutput`'s.
   */
  sendAssistantMessage(textBlocks: string[]): Promise<void>;
  /**
   * Ends the request with an `error_message`. Nothing else of this request is
   * sent afterwards (whatever the handler returns or throws is dropped), and
   * the invocation's `signal` fires. `metadata` is sent as JSON (with
   * `metadata.code` `handler_error` unless it sets one); metadata that is no
   * object or that JSON cannot carry is left out and logged, the error still goes.
   */
  sendErrorMessage(error: string, metadata?: Record<string, unknown>): void;
  /**
   * Streams one `command_output_message` for a command the agent ran by its
   * own means rather than through `invocation.runCommand` (Claude Code's Bash
   * tool runs inside the Claude Code process). `command` is the agent's
   * command line. Redacted like everything else; resolves like
   * `sendAssistantMessage`. A `stream` other than `"stdout"` or `"stderr"`
   * throws a `TypeError`.
   */
  sendCommandOutput(command: string, stream: "stdout" | "stderr", text: string): Promise<void>;
}

/**
 * `usage` (the usage shape) becomes `metadata.usage`; without it the metadata
 * is sent as given. `metadata` and `structuredOutput` are sent as JSON
 * (`toJSON` applies, as in `JSON.stringify`): one that JSON cannot carry (a
 * BigInt, a cycle) ends the request with `invalid_result`, as does anything
 * that is no `AgentResult` (`undefined` included).
 */
export type AgentResult =
  | { type: "text"; text: string; metadata?: Record<string, unknown>; usage?: Usage }
  | {
      type: "structured_output";
      structuredOutput: Record<string, unknown>;
      metadata?: Record<string, unknown>;
      usage?: Usage;
    };

/** An agent: called once per `invocation_message`. */
export interface AgentHandler {
  run(invocation: AgentInvocation, sender: MessageSender): Promise<AgentResult>;
  /**
   * The agent names this handler answers to in the invocation's `agent` field,
   * the default first. When set, a request naming another agent ends with
   * `unknown_agent` before anything of it runs.
   */
  readonly agents?: readonly string[];
}

/** A handler may also be given as a bare function. */
export type AgentHandlerFunction = AgentHandler["run"];
export type AgentHandlerLike = AgentHandler | AgentHandlerFunction;

/**
 * A class (or an old-style constructor function with `run` on its prototype):
 * its instances may be handlers, the class itself is not one. Calling it as a
 * bare function would fail every request; the loader makes an instance, and
 * `new RuntimeUseServer` asks for one.
 */
export function isClass(value: unknown): value is abstract new (...args: never[]) => unknown {
  if (typeof value !== "function") return false;
  if (typeof (value.prototype as { run?: unknown } | undefined)?.run === "function") return true;
  return /^class[\s{]/.test(Function.prototype.toString.call(value));
}

export function toAgentHandler(handler: AgentHandlerLike): AgentHandler {
  return typeof handler === "function" ? { run: handler } : handler;
}
