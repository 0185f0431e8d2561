import type { Plan, SessionUpdate, ToolCallContent } from "@agentclientprotocol/sdk/unstable";
import type { MessageSender } from "../../handler.js";
import type { Logger } from "../../logger.js";
import { toolCallBlock } from "../shared/tool-activity.js";
import { TextCoalescer } from "./coalescer.js";

/** What is known of one tool call, merged over its `tool_call` and `tool_call_update`s. */
interface ToolState {
  name: string | undefined;
  title: string | undefined;
  kind: string | undefined;
  rawInput: unknown;
  shown: boolean;
  /** Output of the call went to the client already (streamed or at its end). */
  outputSent: boolean;
}

export interface RelayOptions {
  showThoughts: boolean;
  coalesceMs: number;
  /** True for a terminal the runtime ran for the agent: its output already streamed through the command runner. */
  isOwnTerminal: (terminalId: string) => boolean;
}

/**
 * Turns an ACP session's `session/update`s into what the client sees, in the
 * order they arrived (docs/AGENTS.md, "ACP agents"):
 *
 * - agent message chunks: `assistant_message`s, coalesced (TextCoalescer);
 *   the last message (after the last tool call or plan; a new `messageId`
 *   starts a new message) is the run's answer;
 * - thought chunks: hidden, or `[thought] ...` blocks with `showThoughts`;
 * - tool calls: one `[tool] Name: input` block each, sent once the call is
 *   made (its input is known or it started); the output of a command the
 *   agent ran itself (not in one of the runtime's terminals) streams as
 *   `command_output_message`s: live when the agent sends it as the terminal
 *   extension's `_meta.terminal_output_delta` (advertised in `initialize`),
 *   else the call's text content once it finished;
 * - plans: one `[plan]` block listing the entries and their status;
 * - usage updates: the cost, for the result's `metadata.usage`;
 * - the rest (modes, commands, titles, config, notices): logged only.
 *
 * `update` is synchronous; sends are chained so that they leave in order and
 * `drain()` waits for all of them.
 */
export class AcpRelay {
  /** The agent's last message (since the last tool call or plan, and of one messageId): the run's answer. */
  private answer = "";
  private messageId: string | undefined;
  private readonly tools = new Map<string, ToolState>();
  private readonly text: TextCoalescer;
  private readonly thoughts: TextCoalescer;
  private chain: Promise<void> = Promise.resolve();
  /** The session's cost as last reported (ACP reports it cumulatively). */
  costUsd: number | undefined;

  constructor(
    private readonly sender: MessageSender,
    private readonly logger: Logger,
    private readonly options: RelayOptions,
  ) {
    this.text = new TextCoalescer((piece) => this.send(() => sender.sendAssistantMessage([piece])), options.coalesceMs);
    this.thoughts = new TextCoalescer(
      (piece) => this.send(() => sender.sendAssistantMessage([`[thought] ${piece}`])),
      options.coalesceMs,
    );
  }

  /** The answer text of the turn so far (message text after the last tool call or plan). */
  get answerText(): string {
    return this.answer;
  }

  /** Starts a new turn (a corrective prompt): its answer replaces the previous one. */
  newTurn(): void {
    this.answer = "";
  }

  update(update: SessionUpdate): void {
    switch (update.sessionUpdate) {
      case "agent_message_chunk":
        if (update.content.type !== "text") return;
        this.thoughts.flush();
        // A new message (another messageId) starts the answer anew: the answer is the last message.
        if ((update.messageId ?? undefined) !== this.messageId) {
          this.messageId = update.messageId ?? undefined;
          this.answer = "";
        }
        this.answer += update.content.text;
        this.text.push(update.content.text);
        return;
      case "agent_thought_chunk":
        if (!this.options.showThoughts || update.content.type !== "text") return;
        this.text.flush();
        this.thoughts.push(update.content.text);
        return;
      case "tool_call":
      case "tool_call_update":
        this.tool(update);
        return;
      case "plan":
        this.flushText();
        this.answer = "";
        this.send(() => this.sender.sendAssistantMessage([planBlock(update)]));
        return;
      case "usage_update":
        if (update.cost && update.cost.currency.toUpperCase() === "USD") this.costUsd = update.cost.amount;
        return;
      case "notice":
        this.logger.log(
          `acp notice (${update.severity}): ${update.title}${update.description ? `: ${update.description}` : ""}`,
        );
        return;
      default:
        this.logger.debug(`acp: ${update.sessionUpdate}`);
    }
  }

  /** Sends what is held back and whatever tool call was never shown; resolves once all was sent. */
  async drain(): Promise<void> {
    this.flushText();
    for (const state of this.tools.values()) this.show(state);
    await this.chain;
  }

  private tool(update: Extract<SessionUpdate, { sessionUpdate: "tool_call" | "tool_call_update" }>): void {
    let state = this.tools.get(update.toolCallId);
    if (state === undefined) {
      state = {
        name: undefined,
        title: undefined,
        kind: undefined,
        rawInput: undefined,
        shown: false,
        outputSent: false,
      };
      this.tools.set(update.toolCallId, state);
    }
    if (update.name) state.name = update.name;
    if (update.title) state.title = update.title;
    if (update.kind) state.kind = update.kind;
    if (update.rawInput !== undefined && !isEmptyObject(update.rawInput)) state.rawInput = update.rawInput;
    const started = update.status === "in_progress" || update.status === "completed" || update.status === "failed";
    const live = liveOutput(update._meta);
    if (state.rawInput !== undefined || started || live !== undefined) this.show(state);
    if (live !== undefined && !this.options.isOwnTerminal(live.terminalId)) {
      state.outputSent = true;
      const command = commandOf(state);
      this.send(() => this.sender.sendCommandOutput(command, "stdout", live.data));
    }
    if (update.status === "completed" || update.status === "failed") this.commandOutput(state, update);
  }

  private show(state: ToolState): void {
    if (state.shown) return;
    state.shown = true;
    this.flushText();
    this.answer = "";
    const name = state.name ?? state.kind ?? "tool";
    const input = state.rawInput ?? state.title ?? {};
    this.send(() => this.sender.sendAssistantMessage([toolCallBlock(name, input)]));
  }

  private commandOutput(
    state: ToolState,
    update: { status?: string | null; content?: ToolCallContent[] | null; rawOutput?: unknown },
  ): void {
    if (state.outputSent || state.kind !== "execute") return;
    const content = update.content ?? [];
    // Output of our own terminals already streamed through the command runner.
    if (content.some((item) => item.type === "terminal" && this.options.isOwnTerminal(item.terminalId))) return;
    const text = content
      .map((item) => (item.type === "content" && item.content.type === "text" ? item.content.text : ""))
      .join("");
    if (text.length === 0) return;
    state.outputSent = true;
    const command = commandOf(state);
    const stream = update.status === "failed" ? "stderr" : "stdout";
    this.send(() => this.sender.sendCommandOutput(command, stream, text));
  }

  private flushText(): void {
    this.text.flush();
    this.thoughts.flush();
  }

  private send(action: () => Promise<void>): void {
    this.chain = this.chain.then(action).catch((error: unknown) => {
      this.logger.debug(`acp: a message could not be sent: ${String(error)}`);
    });
  }
}

/** The command line of an `execute` call: its input's `command` (a string or an argv), else its title. */
function commandOf(state: ToolState): string {
  const input = state.rawInput as { command?: unknown } | undefined;
  const command = input?.command;
  if (typeof command === "string") return command;
  if (Array.isArray(command)) return command.map(String).join(" ");
  return state.title ?? state.name ?? "command";
}

/**
 * A piece of a command's output in the terminal extension some agents speak
 * (`_meta.terminal_output_delta`, or `_meta.terminal_output` chunks).
 */
function liveOutput(meta: unknown): { terminalId: string; data: string } | undefined {
  if (typeof meta !== "object" || meta === null) return undefined;
  const record = meta as Record<string, unknown>;
  const output = (record.terminal_output_delta ?? record.terminal_output) as
    | { data?: unknown; terminal_id?: unknown }
    | undefined;
  if (typeof output?.data !== "string" || output.data.length === 0) return undefined;
  return { terminalId: String(output.terminal_id ?? ""), data: output.data };
}

/** `[plan]` and one line per entry: `- [x] done`, `- [~] in progress`, `- [ ] pending`. */
export function planBlock(plan: Plan): string {
  const marks: Record<string, string> = { completed: "x", in_progress: "~", pending: " " };
  const lines = plan.entries.map((entry) => `- [${marks[entry.status] ?? " "}] ${entry.content}`);
  return ["[plan]", ...lines].join("\n");
}

function isEmptyObject(value: unknown): boolean {
  return typeof value === "object" && value !== null && !Array.isArray(value) && Object.keys(value).length === 0;
}
