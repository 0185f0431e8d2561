import {
  Agent,
  type AgentOutputType,
  type JsonSchemaDefinition,
  OpenAIProvider,
  Runner,
  type RunState,
  type RunStreamEvent,
  type Tool,
  webSearchTool,
} from "@openai/agents";
import OpenAI from "openai";
import type { AgentHandler, AgentInvocation, AgentResult, MessageSender } from "../../handler.js";
import { cancelled, failRun } from "../shared/fail.js";
import { toolCallBlock } from "../shared/tool-activity.js";
import { createAskTool } from "./ask-tool.js";
import { describeOpenAIError } from "./errors.js";
import {
  DEFAULT_MAX_RETRIES,
  DEFAULT_MAX_TURNS,
  DEFAULT_REQUEST_TIMEOUT_MS,
  type OpenAIHandlerOptions,
} from "./options.js";
import { ConversationSession } from "./session.js";
import { createShellTool } from "./shell-tool.js";
import { stripAddedNulls, toStrictJsonSchema } from "./strict-schema.js";
import { toUsage } from "./usage.js";

/**
 * The `openai` agent, on the OpenAI Agents SDK: the system prompt as the
 * agent's instructions, the client's model, a shell tool running through the
 * runtime's command runner, the hosted web-search tool and, when the client
 * allows questions, a tool to ask the user. Each assistant message is
 * streamed whole; each tool call shows as a short text block.
 */
export function createOpenAIHandler(options: OpenAIHandlerOptions = {}): AgentHandler {
  return { run: (invocation, sender) => runOpenAI(invocation, sender, options) };
}

export const openaiHandler: AgentHandler = createOpenAIHandler();

/** The hosted search tool's name, as policies name it. */
const WEB_SEARCH_TOOL = "web_search";

async function runOpenAI(
  invocation: AgentInvocation,
  sender: MessageSender,
  options: OpenAIHandlerOptions,
): Promise<AgentResult> {
  const apiKey = options.apiKey ?? invocation.env.OPENAI_API_KEY ?? process.env.OPENAI_API_KEY;
  if (!apiKey) failRun(sender, "the openai agent needs OPENAI_API_KEY (in the runtime's environment or in agent_env)");
  const baseURL = options.baseURL ?? invocation.env.OPENAI_BASE_URL ?? process.env.OPENAI_BASE_URL;

  let outputType: AgentOutputType = "text";
  if (invocation.outputFormat) {
    try {
      outputType = jsonSchemaOutput(invocation.outputFormat.schema, invocation);
    } catch (error) {
      failRun(sender, (error as Error).message);
    }
  }
  const tools: Tool[] = [createShellTool(invocation, options.shell)];
  if (invocation.allowQuestions) tools.push(createAskTool(invocation));
  // The hosted search runs on OpenAI's side, where no approval can hold it: a
  // policy that covers it leaves it out.
  if ((options.webSearch ?? true) && !invocation.needsApproval(WEB_SEARCH_TOOL, "search")) tools.push(webSearchTool());

  const client = new OpenAI({
    apiKey,
    ...(baseURL ? { baseURL } : {}),
    maxRetries: options.maxRetries ?? DEFAULT_MAX_RETRIES,
    timeout: options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS,
  });
  // Tracing would upload every run to OpenAI's trace store (not through
  // OPENAI_BASE_URL); a runtime inside a sandbox keeps its traffic to the model.
  const runner = new Runner({
    modelProvider: new OpenAIProvider({ openAIClient: client, useResponses: true }),
    tracingDisabled: true,
  });
  const agent = new Agent({
    name: "runtimeuse",
    instructions: invocation.systemPrompt,
    model: invocation.model,
    tools,
    outputType,
  });

  let finalOutput: unknown;
  let metadata: Record<string, unknown> = { agent: "openai", model: invocation.model };
  // The model's messages so far: an interrupted run answers with them.
  const produced: string[] = [];
  let usage = toUsage({ requests: 0, inputTokens: 0, outputTokens: 0 });
  // An interrupt aborts the run like a cancel, but the request goes on with what was produced.
  const signal = AbortSignal.any([invocation.signal, invocation.interruptSignal]);
  // With a conversation, the SDK's session keeps its history; a run resumed after approvals keeps the same one.
  const session = invocation.conversation ? new ConversationSession(invocation.conversation) : undefined;
  const start = (input: string | RunState<unknown, typeof agent>) =>
    runner.run(agent, input, {
      stream: true,
      signal,
      maxTurns: options.maxTurns ?? DEFAULT_MAX_TURNS,
      ...(session ? { session } : {}),
    });
  try {
    let input: string | RunState<unknown, typeof agent> = invocation.userPrompt;
    for (;;) {
      const stream = await start(input);
      try {
        for await (const event of stream) await relayEvent(event, sender, produced);
        await stream.completed;
      } finally {
        usage = toUsage(stream.runContext.usage);
        metadata = { ...metadata, usage, turns: stream.currentTurn };
        if (stream.lastResponseId) metadata.response_id = stream.lastResponseId;
      }
      if (stream.error) throw stream.error;
      if (invocation.signal.aborted) throw cancelled(invocation.signal);
      if (invocation.interrupted) break;
      // Tool calls held for approval: ask the client for each, then resume the same run.
      if (stream.interruptions.length === 0) {
        finalOutput = stream.finalOutput;
        break;
      }
      for (const item of stream.interruptions) {
        const decision = await invocation.requestApproval({
          toolName: item.name ?? "unknown",
          input: parseArguments(item.arguments),
        });
        if (decision.decision === "allow") stream.state.approve(item);
        else stream.state.reject(item, decision.message === undefined ? {} : { message: decision.message });
      }
      input = stream.state;
    }
  } catch (error) {
    if (invocation.signal.aborted) throw cancelled(invocation.signal);
    if (!invocation.interrupted) {
      const described = describeOpenAIError(error);
      failRun(sender, described.message, { ...metadata, ...described.metadata });
    }
  }
  if (invocation.interrupted) return { type: "text", text: produced.join("\n\n"), metadata, usage };

  if (invocation.outputFormat) {
    const output = stripAddedNulls(finalOutput, invocation.outputFormat.schema);
    if (typeof output !== "object" || output === null || Array.isArray(output)) {
      failRun(sender, "the model's answer is not a JSON object, although an output schema was given", metadata);
    }
    return { type: "structured_output", structuredOutput: output as Record<string, unknown>, metadata, usage };
  }
  const text = typeof finalOutput === "string" ? finalOutput : String(finalOutput ?? "");
  return { type: "text", text, metadata, usage };
}

function jsonSchemaOutput(schema: Record<string, unknown>, invocation: AgentInvocation): JsonSchemaDefinition {
  const converted = toStrictJsonSchema(schema);
  if (!converted.strict) {
    invocation.logger.warn(
      "openai: the output schema has an object with free keys, which strict mode cannot express; it is sent unenforced",
    );
  }
  const title = typeof schema.title === "string" ? schema.title.replace(/[^a-zA-Z0-9_-]/g, "_").slice(0, 64) : "";
  return {
    type: "json_schema",
    name: title || "output",
    strict: converted.strict,
    schema: converted.schema as JsonSchemaDefinition["schema"],
  };
}

/** Whole assistant messages and tool calls go to the client; token deltas do not. */
async function relayEvent(event: RunStreamEvent, sender: MessageSender, produced: string[]): Promise<void> {
  if (event.type !== "run_item_stream_event") return;
  const item = event.item;
  if (event.name === "message_output_created" && item.type === "message_output_item") {
    const text = item.rawItem.content
      .map((part) => (part.type === "output_text" ? part.text : part.type === "refusal" ? part.refusal : ""))
      .join("");
    if (text.length > 0) {
      produced.push(text);
      await sender.sendAssistantMessage([text]);
    }
    return;
  }
  if (event.name === "tool_called" && item.type === "tool_call_item") {
    const raw = item.rawItem;
    if (raw.type === "function_call") {
      await sender.sendAssistantMessage([toolCallBlock(raw.name, raw.arguments)]);
    } else if (raw.type === "hosted_tool_call") {
      const action = (raw.providerData as { action?: unknown } | undefined)?.action;
      await sender.sendAssistantMessage([toolCallBlock(raw.name, action ?? raw.arguments ?? {})]);
    }
  }
}

/** A tool call's arguments as an object, for the approval request. */
function parseArguments(text: string | undefined): Record<string, unknown> {
  if (text === undefined || text === "") return {};
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === "object" && value !== null && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : { arguments: value };
  } catch {
    return { arguments: text };
  }
}
