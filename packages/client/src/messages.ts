import {
  type ArtifactUploadResponseMessage,
  type ClientMessage,
  type CommandExecutionMessage,
  type InvocationMessage,
  type ParsedRuntimeMessage,
  toOutputFormat,
  UsageSchema,
  validateClientMessage,
} from "@runtimeuse/protocol";
import { InvalidOptionsError } from "./errors.js";
import type {
  ArtifactUploadRequest,
  CommandExecutionResult,
  CommandSpec,
  Downloadable,
  ExecuteCommandsOptions,
  QueryOptions,
  QueryResult,
} from "./types.js";

/**
 * Builds wire messages from camelCase options and checks them against the
 * protocol schema before anything is sent, so a bad option fails here, named
 * as the caller spelled it, instead of as a runtime `error_message`.
 */

const OPTION_NAMES: Record<string, string> = {
  user_prompt: "prompt",
  system_prompt: "systemPrompt",
  source_id: "sourceId",
  agent_env: "agentEnv",
  secrets_to_redact: "secretsToRedact",
  output_format_json_schema_str: "outputSchema",
  artifacts_dirs: "artifactsDirs",
  artifacts_ignore_content: "artifactsIgnoreContent",
  pre_agent_downloadables: "preAgentDownloadables",
  pre_agent_invocation_commands: "preAgentInvocationCommands",
  post_agent_invocation_commands: "postAgentInvocationCommands",
  pre_execution_downloadables: "preExecutionDownloadables",
  approval_policy: "approvalPolicy",
  approval_timeout_ms: "approvalTimeout",
  allow_questions: "onQuestion",
  conversation_id: "conversationId",
  download_url: "downloadUrl",
  working_dir: "workingDir",
  presigned_url: "presignedUrl",
  content_type: "contentType",
};

/** Wire fields whose value is a map: the segment after them is the caller's own key. */
const MAP_FIELDS = new Set(["env", "agent_env"]);

/**
 * The wire path in the caller's spelling. Keys of the caller's own maps stay
 * as they are: quoted ones (`env["a_b=1"]`) and plain ones (`agentEnv.source_id`).
 */
function optionPath(field: string): string {
  let previous = "";
  return field.replace(/\["(?:[^"\\]|\\.)*"\]|\[\d+\]|[A-Za-z_$][\w$]*/g, (part) => {
    const own = MAP_FIELDS.has(previous);
    previous = part;
    return !own && Object.hasOwn(OPTION_NAMES, part) ? (OPTION_NAMES[part] as string) : part;
  });
}

function checked<T extends ClientMessage>(message: T, what: string): T {
  const result = validateClientMessage(message);
  if (result.ok) return message;
  const { field, message: text } = result.error;
  // The protocol's message reads "<message_type>: <field>: <problem>"; keep the problem only.
  const prefix = `${message.message_type}: ${field ? `${field}: ` : ""}`;
  const problem = text.startsWith(prefix) ? text.slice(prefix.length) : text;
  throw new InvalidOptionsError(`${what}: ${field ? `${optionPath(field)}: ` : ""}${problem}`);
}

/** Drops keys whose value is `undefined`, so a missing required field reads as "required". */
function defined<T extends Record<string, unknown>>(object: T): T {
  return Object.fromEntries(Object.entries(object).filter(([, value]) => value !== undefined)) as T;
}

const commands = (list: CommandSpec[] | undefined) =>
  list?.map((item) => defined({ command: item?.command, cwd: item?.cwd, env: item?.env }));

const downloadables = (list: Downloadable[] | undefined) =>
  list?.map((item) => defined({ download_url: item?.downloadUrl, working_dir: item?.workingDir }));

function nonEmpty<T>(list: T[] | undefined): T[] | undefined {
  return list && list.length > 0 ? list : undefined;
}

/** The wire form is always the wrapper; `outputSchema` may be a bare JSON Schema or the wrapper itself. */
function outputFormat(schema: Record<string, unknown> | undefined): string | undefined {
  if (schema === undefined) return undefined;
  const format = toOutputFormat(schema);
  if (!format.ok) throw new InvalidOptionsError(`query options: outputSchema: ${format.message}`);
  try {
    return JSON.stringify(format.format);
  } catch (error) {
    throw new InvalidOptionsError(`query options: outputSchema: not serialisable as JSON (${String(error)})`);
  }
}

export function buildInvocation(prompt: string, options: QueryOptions): InvocationMessage {
  if (options === null || typeof options !== "object") {
    throw new InvalidOptionsError("query options: expected an object with at least systemPrompt and model");
  }
  const message = defined({
    message_type: "invocation_message",
    source_id: options.sourceId,
    system_prompt: options.systemPrompt,
    user_prompt: prompt,
    model: options.model,
    agent_env: options.agentEnv,
    agent: options.agent,
    secrets_to_redact: options.secretsToRedact ?? [],
    output_format_json_schema_str: outputFormat(options.outputSchema),
    artifacts_dirs: nonEmpty(options.artifactsDirs),
    artifacts_ignore_content: options.artifactsIgnoreContent,
    pre_agent_downloadables: downloadables(options.preAgentDownloadables),
    pre_agent_invocation_commands: commands(options.preAgentInvocationCommands),
    post_agent_invocation_commands: commands(options.postAgentInvocationCommands),
    // Sent only when asked for, so a client that uses none of them sends today's frames.
    approval_policy: options.approvalPolicy === "never" ? undefined : options.approvalPolicy,
    approval_timeout_ms: options.approvalTimeout === Number.POSITIVE_INFINITY ? undefined : options.approvalTimeout,
    allow_questions: options.onQuestion === undefined ? undefined : true,
    conversation_id: options.conversationId,
  }) as InvocationMessage;
  return checked(message, "query options");
}

export function buildCommandExecution(list: CommandSpec[], options: ExecuteCommandsOptions): CommandExecutionMessage {
  if (!Array.isArray(list)) throw new InvalidOptionsError("executeCommands: commands: expected an array of commands");
  if (options === null || typeof options !== "object") {
    throw new InvalidOptionsError("executeCommands options: expected an object");
  }
  const message = defined({
    message_type: "command_execution_message",
    source_id: options.sourceId,
    secrets_to_redact: options.secretsToRedact ?? [],
    commands: commands(list),
    artifacts_dirs: nonEmpty(options.artifactsDirs),
    artifacts_ignore_content: options.artifactsIgnoreContent,
    pre_execution_downloadables: downloadables(options.preExecutionDownloadables),
  }) as CommandExecutionMessage;
  return checked(message, "executeCommands");
}

export function buildArtifactResponse(request: ArtifactUploadRequest, target: unknown): ArtifactUploadResponseMessage {
  const answer = (target ?? {}) as { presignedUrl?: unknown; contentType?: unknown };
  const message = defined({
    message_type: "artifact_upload_response_message",
    filename: request.filename,
    filepath: request.filepath,
    presigned_url: answer.presignedUrl,
    content_type: answer.contentType,
  }) as ArtifactUploadResponseMessage;
  return checked(message, "onArtifactUploadRequest result");
}

export const CANCEL: ClientMessage = { message_type: "cancel_message" };
export const INTERRUPT: ClientMessage = { message_type: "interrupt_message" };

export function buildApprovalResponse(requestId: string, answer: unknown): ClientMessage {
  const decision = (answer ?? {}) as { decision?: unknown; message?: unknown };
  const message = defined({
    message_type: "approval_response_message",
    request_id: requestId,
    decision: decision.decision,
    message: decision.message,
  }) as ClientMessage;
  return checked(message, "onApprovalRequest result");
}

export function buildQuestionResponse(requestId: string, answer: unknown): ClientMessage {
  return checked(
    { message_type: "question_response_message", request_id: requestId, answer } as ClientMessage,
    "onQuestion result",
  );
}
export const END_SESSION: ClientMessage = { message_type: "end_session_message" };

type Parsed<T extends ParsedRuntimeMessage["message_type"]> = Extract<ParsedRuntimeMessage, { message_type: T }>;

export function toQueryResult(message: Parsed<"result_message">): QueryResult {
  const data =
    message.data.type === "text"
      ? { type: "text" as const, text: message.data.text }
      : { type: "structured_output" as const, structuredOutput: message.data.structured_output };
  const usage = UsageSchema.safeParse(message.metadata.usage);
  return {
    data,
    metadata: message.metadata,
    ...(usage.success ? { usage: usage.data } : {}),
    ...(message.metadata.interrupted === true ? { interrupted: true as const } : {}),
  };
}

export function toCommandExecutionResult(message: Parsed<"command_execution_result_message">): CommandExecutionResult {
  return {
    results: message.results.map((item) => ({
      command: item.command,
      exitCode: item.exit_code,
      ...(item.stdout === undefined ? {} : { stdout: item.stdout }),
      ...(item.stdout_truncated === undefined ? {} : { stdoutTruncated: item.stdout_truncated }),
    })),
  };
}
