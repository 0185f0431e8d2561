import {
  Agent,
  type AgentOutputType,
  type JsonSchemaDefinition,
  OpenAIProvider,
  Runner,
  type RunStreamEvent,
  type Tool,
  webSearchTool,
} from "@openai/agents";
import OpenAI from "openai";
import type { AgentHandler, AgentInvocation, AgentResult, MessageSender } from "../../handler.js";
import { cancelled, failRun } from "../shared/fail.js";
import { toolCallBlock } from "../shared/tool-activity.js";
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

/**
 * The `openai` agent, on the OpenAI Agents SDK: the system prompt as the
 * agent's instructions, the client's model, a shell tool running through the
 * runtime's command runner and the hosted web-search tool. Each assistant
 * message is streamed whole; each tool call shows as a short text block.
 */
export function createOpenAIHandler(options: OpenAIHandlerOptions = {}): AgentHandler {
  return { run: (invocation, sender) => runOpenAI(invocation, sender, options) };
}

export const openaiHandler: AgentHandler = createOpenAIHandler();

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
  if (options.webSearch ?? true) tools.push(webSearchTool());

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
  try {
    const stream = await runner.run(agent, invocation.userPrompt, {
      stream: true,
      signal: invocation.signal,
      maxTurns: options.maxTurns ?? DEFAULT_MAX_TURNS,
      ...(invocation.conversation ? { session: new ConversationSession(invocation.conversation) } : {}),
    });
    for await (const event of stream) await relayEvent(event, sender);
    await stream.completed;
    metadata = { ...metadata, ...usageMetadata(stream.runContext.usage), turns: stream.currentTurn };
    if (stream.lastResponseId) metadata.response_id = stream.lastResponseId;
    if (stream.error) throw stream.error;
    if (invocation.signal.aborted) throw cancelled(invocation.signal);
    finalOutput = stream.finalOutput;
  } catch (error) {
    if (invocation.signal.aborted) throw cancelled(invocation.signal);
    const described = describeOpenAIError(error);
    failRun(sender, described.message, { ...metadata, ...described.metadata });
  }

  if (invocation.outputFormat) {
    const output = stripAddedNulls(finalOutput, invocation.outputFormat.schema);
    if (typeof output !== "object" || output === null || Array.isArray(output)) {
      failRun(sender, "the model's answer is not a JSON object, although an output schema was given", metadata);
    }
    return { type: "structured_output", structuredOutput: output as Record<string, unknown>, metadata };
  }
  return { type: "text", text: typeof finalOutput === "string" ? finalOutput : String(finalOutput ?? ""), metadata };
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
async function relayEvent(event: RunStreamEvent, sender: MessageSender): Promise<void> {
  if (event.type !== "run_item_stream_event") return;
  const item = event.item;
  if (event.name === "message_output_created" && item.type === "message_output_item") {
    const text = item.rawItem.content
      .map((part) => (part.type === "output_text" ? part.text : part.type === "refusal" ? part.refusal : ""))
      .join("");
    if (text.length > 0) await sender.sendAssistantMessage([text]);
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

function usageMetadata(usage: {
  requests: number;
  inputTokens: number;
  outputTokens: number;
  totalTokens: number;
}): Record<string, unknown> {
  return {
    usage: {
      requests: usage.requests,
      input_tokens: usage.inputTokens,
      output_tokens: usage.outputTokens,
      total_tokens: usage.totalTokens,
    },
  };
}
