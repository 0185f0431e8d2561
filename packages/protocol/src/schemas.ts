// Zod's values are imported as a namespace (here, words.ts, resume.ts): `import { z }`
// is zod's whole API as one object, which a bundler keeps whole (locales and all), and the
// bundled CLI would load it before it listens (test/api/bundle.test.ts in packages/runtimeuse).
import * as z from "zod";
import { CONVERSATION_ID_MAX_LENGTH, isConversationId } from "./conversation-id.js";
import { ErrorCode } from "./errors.js";
import { nullishField } from "./fast-parse.js";
import { protocolWord } from "./words.js";

/**
 * Every message of the wire protocol, defined once. The runtime and the
 * TypeScript client both import these; the Python client is checked against
 * the same JSON fixtures (fixtures/valid, fixtures/invalid).
 *
 * Clients serialise unset optional fields as JSON `null`, so every optional
 * field accepts `null` and normalises it to `undefined`, at any depth.
 */
const optional = <T extends z.ZodType>(schema: T) =>
  nullishField(
    schema.nullish().transform((value): z.output<T> | undefined => value ?? undefined),
    schema,
    "undefined",
  );

/** A list the client may leave out or send as `null`: an empty list then. */
const optionalList = <T extends z.ZodType>(element: T) => {
  const list = z.array(element);
  return nullishField(
    list.nullish().transform((value): z.output<T>[] => value ?? []),
    list,
    "empty list",
  );
};

/**
 * Text the runtime hands to the operating system: a command line, a path, an
 * environment entry. The OS takes no NUL character in any of them.
 */
const osText = z.string().refine((text) => !text.includes("\0"), {
  message: "must not contain a NUL character (U+0000)",
});

/** An environment variable's name: a non-empty OS text without `=` (the name ends at the first one). */
const envName = osText.refine((name) => name !== "" && !name.includes("="), {
  message: "an environment variable name must be non-empty and must not contain '='",
});

/** Environment variables for a command or an agent. */
const envMap = z.record(envName, osText);

// ---------------------------------------------------------------------------
// Nested types

export const CommandSchema = z.object({
  command: osText,
  cwd: optional(osText),
  env: optional(envMap),
});
export type Command = z.output<typeof CommandSchema>;

export const DownloadableSchema = z.object({
  download_url: z.string(),
  working_dir: osText,
});
export type Downloadable = z.output<typeof DownloadableSchema>;

export const OutputFormatSchema = z.object({
  type: z.literal("json_schema"),
  schema: z.record(z.string(), z.unknown()),
});
export type OutputFormat = z.output<typeof OutputFormatSchema>;

const OUTPUT_FORMAT_FORMS = 'a JSON Schema object, or {"type": "json_schema", "schema": {...}}';

/**
 * The output format in `output_format_json_schema_str`, once parsed from its
 * JSON text. Two forms are accepted and both give the wrapper: the documented
 * `{"type": "json_schema", "schema": {...}}`, and a bare JSON Schema (any
 * other object), which runtime 0.15.1 passed through and clients written for
 * it send. An object that says `"type": "json_schema"` is the wrapper and
 * must carry an object `schema`.
 */
export function toOutputFormat(value: unknown): { ok: true; format: OutputFormat } | { ok: false; message: string } {
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    const received = value === null ? "null" : Array.isArray(value) ? "array" : typeof value;
    return { ok: false, message: `expected ${OUTPUT_FORMAT_FORMS}, received ${received}` };
  }
  const wrapper = OutputFormatSchema.safeParse(value);
  if (wrapper.success) return { ok: true, format: wrapper.data };
  if ((value as { type?: unknown }).type === "json_schema") {
    return { ok: false, message: 'expected {"type": "json_schema", "schema": {...}} with an object schema' };
  }
  return { ok: true, format: { type: "json_schema", schema: value as Record<string, unknown> } };
}

/** `output_format_json_schema_str` is JSON inside a string; check it here, at the edge. */
const outputFormatString = z.string().superRefine((text, ctx) => {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    ctx.addIssue({ code: "custom", message: "expected a JSON text, got text that does not parse as JSON" });
    return;
  }
  const result = toOutputFormat(parsed);
  if (!result.ok) ctx.addIssue({ code: "custom", message: result.message });
});

/** Any refused value (a non-string too) is reported with its own code rather than `invalid_field`. */
export const ConversationIdSchema = z.custom<string>(isConversationId, {
  message: `expected a string of 1 to ${CONVERSATION_ID_MAX_LENGTH} characters of A-Z a-z 0-9 . _ -, starting with a letter or digit`,
  params: { code: ErrorCode.InvalidConversationId },
});

const requestCommon = {
  source_id: optional(z.string()),
  secrets_to_redact: optionalList(z.string()),
  artifacts_dirs: optional(z.array(osText)),
  /** Deprecated single form of `artifacts_dirs`; the runtime merges the two. */
  artifacts_dir: optional(osText),
  artifacts_ignore_content: optional(z.string()),
};

// ---------------------------------------------------------------------------
// A person in the loop (docs/PROTOCOL.md): approvals, questions, interrupt

/** The kinds a tool call is sorted into (those of the Agent Client Protocol). */
export const TOOL_KINDS = ["read", "edit", "delete", "move", "search", "execute", "think", "fetch", "other"] as const;
export const ToolKindSchema = z.enum(TOOL_KINDS);
export type ToolKind = z.output<typeof ToolKindSchema>;

/** `never` (nobody is asked), `always`, or the tool names and kinds whose calls wait for approval. */
export const ApprovalPolicySchema = z.union([z.literal("never"), z.literal("always"), z.array(z.string())]);
export type ApprovalPolicy = z.output<typeof ApprovalPolicySchema>;

/** Ids the runtime gives approval and question requests; never redacted, so an answer can name them. */
const requestId = protocolWord(z.string().min(1));

// ---------------------------------------------------------------------------
// Client -> runtime

export const InvocationMessageSchema = z.object({
  message_type: z.literal("invocation_message"),
  ...requestCommon,
  system_prompt: z.string(),
  user_prompt: z.string(),
  model: osText,
  agent_env: optional(envMap),
  /** Extension: which of the runtime's agents runs this request (default: its first). */
  agent: optional(z.string()),
  output_format_json_schema_str: optional(outputFormatString),
  pre_agent_downloadables: optional(z.array(DownloadableSchema)),
  pre_agent_invocation_commands: optional(z.array(CommandSchema)),
  post_agent_invocation_commands: optional(z.array(CommandSchema)),
  /** Extension: which tool calls wait for the client's approval (absent: `never`). */
  approval_policy: optional(ApprovalPolicySchema),
  /** Extension: how long one approval or question waits for its answer (absent: no limit). */
  approval_timeout_ms: optional(z.number().int().positive()),
  /** Extension: the agent may ask the client questions. */
  allow_questions: optional(z.boolean()),
  /** Runs naming the same conversation share their history (PROTOCOL.md "Conversations"). */
  conversation_id: optional(ConversationIdSchema),
});
export type InvocationMessage = z.output<typeof InvocationMessageSchema>;

export const CommandExecutionMessageSchema = z.object({
  message_type: z.literal("command_execution_message"),
  ...requestCommon,
  commands: z.array(CommandSchema),
  pre_execution_downloadables: optional(z.array(DownloadableSchema)),
});
export type CommandExecutionMessage = z.output<typeof CommandExecutionMessageSchema>;

export const CancelMessageSchema = z.object({ message_type: z.literal("cancel_message") });
export type CancelMessage = z.output<typeof CancelMessageSchema>;

export const ArtifactUploadResponseMessageSchema = z.object({
  message_type: z.literal("artifact_upload_response_message"),
  filename: z.string(),
  filepath: z.string(),
  presigned_url: z.string(),
  content_type: z.string(),
});
export type ArtifactUploadResponseMessage = z.output<typeof ArtifactUploadResponseMessageSchema>;

export const EndSessionMessageSchema = z.object({ message_type: z.literal("end_session_message") });
export type EndSessionMessage = z.output<typeof EndSessionMessageSchema>;

export const ApprovalResponseMessageSchema = z.object({
  message_type: z.literal("approval_response_message"),
  request_id: requestId,
  decision: z.enum(["allow", "deny"]),
  message: optional(z.string()),
});
export type ApprovalResponseMessage = z.output<typeof ApprovalResponseMessageSchema>;

export const QuestionResponseMessageSchema = z.object({
  message_type: z.literal("question_response_message"),
  request_id: requestId,
  answer: z.string(),
});
export type QuestionResponseMessage = z.output<typeof QuestionResponseMessageSchema>;

export const InterruptMessageSchema = z.object({ message_type: z.literal("interrupt_message") });
export type InterruptMessage = z.output<typeof InterruptMessageSchema>;

export const ClientMessageSchema = z.discriminatedUnion("message_type", [
  InvocationMessageSchema,
  CommandExecutionMessageSchema,
  CancelMessageSchema,
  ArtifactUploadResponseMessageSchema,
  EndSessionMessageSchema,
  ApprovalResponseMessageSchema,
  QuestionResponseMessageSchema,
  InterruptMessageSchema,
]);
export type ClientMessage = z.output<typeof ClientMessageSchema>;
export type RequestMessage = InvocationMessage | CommandExecutionMessage;

// ---------------------------------------------------------------------------
// Runtime -> client

/**
 * What a run cost, in `result_message.metadata.usage`, the same shape for every
 * agent: whole numbers of tokens and model calls; `cost_usd` only when the
 * agent reports a cost.
 */
export const UsageSchema = z.object({
  input_tokens: z.number().int().nonnegative(),
  output_tokens: z.number().int().nonnegative(),
  cache_read_tokens: z.number().int().nonnegative(),
  cache_write_tokens: z.number().int().nonnegative(),
  model_calls: z.number().int().nonnegative(),
  cost_usd: z.number().nonnegative().optional(),
});
export type Usage = z.output<typeof UsageSchema>;

const metadata = z.record(z.string(), z.unknown());

export const AssistantMessageSchema = z.object({
  message_type: z.literal("assistant_message"),
  text_blocks: z.array(z.string()),
});
export type AssistantMessage = z.output<typeof AssistantMessageSchema>;

export const CommandOutputMessageSchema = z.object({
  message_type: z.literal("command_output_message"),
  stream: z.enum(["stdout", "stderr"]),
  text: z.string(),
  command: z.string(),
});
export type CommandOutputMessage = z.output<typeof CommandOutputMessageSchema>;

export const HeartbeatMessageSchema = z.object({
  message_type: z.literal("heartbeat_message"),
  /** Any string (clients must accept phases they do not know), but always a word the runtime chose. */
  phase: protocolWord(z.string()),
  elapsed_ms: z.number().int().nonnegative(),
});
export type HeartbeatMessage = z.output<typeof HeartbeatMessageSchema>;

export const ArtifactUploadRequestMessageSchema = z.object({
  message_type: z.literal("artifact_upload_request_message"),
  filename: z.string(),
  filepath: z.string(),
});
export type ArtifactUploadRequestMessage = z.output<typeof ArtifactUploadRequestMessageSchema>;

export const TextResultSchema = z.object({ type: z.literal("text"), text: z.string() });
export const StructuredOutputResultSchema = z.object({
  type: z.literal("structured_output"),
  structured_output: z.record(z.string(), z.unknown()),
});
export const ResultDataSchema = z.discriminatedUnion("type", [TextResultSchema, StructuredOutputResultSchema]);
export type ResultData = z.output<typeof ResultDataSchema>;

export const ResultMessageSchema = z.object({
  message_type: z.literal("result_message"),
  metadata: optional(metadata).transform((value) => value ?? {}),
  data: ResultDataSchema,
});
export type ResultMessage = z.input<typeof ResultMessageSchema>;

export const CommandResultItemSchema = z.object({
  command: z.string(),
  exit_code: z.number().int(),
  stdout: optional(z.string()),
  /** Runtime extension: the captured `stdout` was cut to its tail. */
  stdout_truncated: optional(z.boolean()),
});
export type CommandResultItem = z.input<typeof CommandResultItemSchema>;

export const CommandExecutionResultMessageSchema = z.object({
  message_type: z.literal("command_execution_result_message"),
  results: z.array(CommandResultItemSchema),
});
export type CommandExecutionResultMessage = z.input<typeof CommandExecutionResultMessageSchema>;

/** An error's metadata; its `code`, when it is one of the error codes, is a word of the protocol. */
const errorMetadata = protocolWord(z.record(z.string(), z.unknown()), {
  fields: { code: Object.values(ErrorCode) },
});

export const ErrorMessageSchema = z.object({
  message_type: z.literal("error_message"),
  error: z.string(),
  metadata: optional(errorMetadata).transform((value) => value ?? {}),
});
export type ErrorMessage = z.input<typeof ErrorMessageSchema>;

export const ApprovalRequestMessageSchema = z.object({
  message_type: z.literal("approval_request_message"),
  request_id: requestId,
  tool_name: z.string(),
  tool_kind: ToolKindSchema,
  input: z.record(z.string(), z.unknown()),
  reason: optional(z.string()),
});
export type ApprovalRequestMessage = z.input<typeof ApprovalRequestMessageSchema>;

export const QuestionOptionSchema = z.object({ label: z.string(), description: optional(z.string()) });
export type QuestionOption = z.input<typeof QuestionOptionSchema>;

export const QuestionRequestMessageSchema = z.object({
  message_type: z.literal("question_request_message"),
  request_id: requestId,
  question: z.string(),
  header: optional(z.string()),
  options: optional(z.array(QuestionOptionSchema)),
  multi_select: optional(z.boolean()),
});
export type QuestionRequestMessage = z.input<typeof QuestionRequestMessageSchema>;

/** The answer to an approval or question request that no longer waits (or never did). Not terminal. */
export const ResponseErrorMessageSchema = z.object({
  message_type: z.literal("response_error_message"),
  request_id: z.string(),
  error: z.string(),
  metadata: optional(errorMetadata).transform((value) => value ?? {}),
});
export type ResponseErrorMessage = z.input<typeof ResponseErrorMessageSchema>;

export const ArtifactStatusSchema = z.enum(["uploaded", "failed", "not_requested"]);
export type ArtifactStatus = z.output<typeof ArtifactStatusSchema>;

export const ArtifactManifestEntrySchema = z.object({
  filepath: z.string(),
  size: z.number().int().nonnegative(),
  status: ArtifactStatusSchema,
  error: optional(z.string()),
});
export type ArtifactManifestEntry = z.input<typeof ArtifactManifestEntrySchema>;

export const EndSessionConfirmMessageSchema = z.object({
  message_type: z.literal("end_session_confirm_message"),
  /** Runtime extension: one entry per artifact offered during the session. */
  artifacts: optional(z.array(ArtifactManifestEntrySchema)),
  /** Runtime extension: the usage summed over the session's requests. */
  usage: optional(UsageSchema),
});
export type EndSessionConfirmMessage = z.input<typeof EndSessionConfirmMessageSchema>;

export const RuntimeMessageSchema = z.discriminatedUnion("message_type", [
  AssistantMessageSchema,
  CommandOutputMessageSchema,
  HeartbeatMessageSchema,
  ArtifactUploadRequestMessageSchema,
  ResultMessageSchema,
  CommandExecutionResultMessageSchema,
  ErrorMessageSchema,
  EndSessionConfirmMessageSchema,
  ApprovalRequestMessageSchema,
  QuestionRequestMessageSchema,
  ResponseErrorMessageSchema,
]);
/** A runtime message as the runtime builds it (before defaults are applied). */
export type RuntimeMessage = z.input<typeof RuntimeMessageSchema>;
/** A runtime message as a client sees it after validation. */
export type ParsedRuntimeMessage = z.output<typeof RuntimeMessageSchema>;

export const TERMINAL_MESSAGE_TYPES = ["result_message", "command_execution_result_message", "error_message"] as const;
export type TerminalMessage = ResultMessage | CommandExecutionResultMessage | ErrorMessage;

export const CLIENT_MESSAGE_TYPES = ClientMessageSchema.options.map((option) => option.shape.message_type.value);
export const RUNTIME_MESSAGE_TYPES = RuntimeMessageSchema.options.map((option) => option.shape.message_type.value);
