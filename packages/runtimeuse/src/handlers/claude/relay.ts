import type { SDKAssistantMessage, SDKMessage, SDKUserMessage } from "@anthropic-ai/claude-agent-sdk";
import type { MessageSender } from "../../handler.js";
import type { Logger } from "../../logger.js";
import { toolCallBlock } from "../shared/tool-activity.js";

/** Claude Code's shell tool. */
const BASH_TOOL = "Bash";

/**
 * Turns the SDK's message stream into what the client sees (docs/AGENTS.md):
 *
 * - each assistant text block as an `assistant_message` (the SDK delivers a
 *   message a block at a time, never token by token);
 * - each tool call as a short `[tool] Name: input` block;
 * - the output of each Bash command, once it finished, as
 *   `command_output_message`s carrying the command line the model wrote.
 *
 * Claude Code runs Bash inside its own process, so the output is taken from
 * the tool result in the message stream: the structured `tool_use_result`
 * (`stdout`, `stderr`) when there is one, else the result text the model read
 * (a failed command: `Exit code N` and its output), sent as stderr.
 */
export class ClaudeRelay {
  /** Bash calls whose result has not arrived yet: tool_use id -> command line. */
  private readonly pendingCommands = new Map<string, string>();
  /** Every text block Claude wrote, in order: an interrupted run answers with them. */
  readonly texts: string[] = [];

  constructor(
    private readonly sender: MessageSender,
    private readonly logger: Logger,
  ) {}

  async handle(message: SDKMessage): Promise<void> {
    if (message.type === "assistant") await this.assistant(message);
    else if (message.type === "user") await this.user(message);
    else if (message.type === "system" && message.subtype === "init") {
      this.logger.debug(`claude: session ${message.session_id} model ${message.model} cwd ${message.cwd}`);
    }
  }

  private async assistant(message: SDKAssistantMessage): Promise<void> {
    if (message.error !== undefined) {
      // A notice Claude Code makes up for an API failure; the run's result
      // carries the same failure, which becomes the request's one error.
      this.logger.warn(`claude: ${message.error}`);
      return;
    }
    const blocks: string[] = [];
    for (const block of message.message.content) {
      if (block.type === "text") {
        if (block.text.trim().length > 0) {
          blocks.push(block.text);
          this.texts.push(block.text);
        }
      } else if (block.type === "tool_use" || block.type === "server_tool_use" || block.type === "mcp_tool_use") {
        blocks.push(toolCallBlock(block.name, block.input));
        const command = (block.input as { command?: unknown } | null)?.command;
        if (block.type === "tool_use" && block.name === BASH_TOOL && typeof command === "string") {
          this.pendingCommands.set(block.id, command);
        }
      }
    }
    if (blocks.length > 0) await this.sender.sendAssistantMessage(blocks);
  }

  private async user(message: SDKUserMessage): Promise<void> {
    const content = message.message.content;
    if (!Array.isArray(content)) return;
    // The SDK types user content as the Messages API's params; read tool results by their wire shape.
    const results = (content as Array<{ type: string }>).filter(
      (block): block is ToolResultBlock => block.type === "tool_result",
    );
    for (const block of results) {
      const command = this.pendingCommands.get(block.tool_use_id);
      if (command === undefined) continue;
      this.pendingCommands.delete(block.tool_use_id);
      // `tool_use_result` belongs to the message's tool result; only trust it when there is one.
      const structured = results.length === 1 ? bashOutput(message.tool_use_result) : undefined;
      if (structured) {
        if (structured.stdout) await this.sender.sendCommandOutput(command, "stdout", structured.stdout);
        if (structured.stderr) await this.sender.sendCommandOutput(command, "stderr", structured.stderr);
        continue;
      }
      const text = resultText(block.content);
      if (text) await this.sender.sendCommandOutput(command, block.is_error ? "stderr" : "stdout", text);
    }
  }
}

interface ToolResultBlock {
  type: "tool_result";
  tool_use_id: string;
  content?: unknown;
  is_error?: boolean;
}

function bashOutput(value: unknown): { stdout: string; stderr: string } | undefined {
  if (typeof value !== "object" || value === null) return undefined;
  const { stdout, stderr } = value as { stdout?: unknown; stderr?: unknown };
  if (typeof stdout !== "string") return undefined;
  return { stdout, stderr: typeof stderr === "string" ? stderr : "" };
}

function resultText(content: unknown): string {
  if (typeof content === "string") return content;
  if (!Array.isArray(content)) return "";
  return content
    .map((part) => (part && typeof part === "object" && part.type === "text" ? String(part.text) : ""))
    .join("");
}
