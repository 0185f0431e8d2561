import { z } from "zod";

/**
 * Every message of the wire protocol, defined once. The runtime and the
 * TypeScript client both import these; the Python client is checked against
 * the same JSON fixtures (fixtures/valid, fixtures/invalid).
 *
 * Clients serialise unset optional fields as JSON `null`, so every optional
 * field accepts `null` and normalises it to `undefined`, at any depth.
 */
const optional = <T extends z.ZodType>(schema: T) =>
  schema.nullish().transform((value): z.output<T> | undefined => value ?? undefined);

const stringMap = z.record(z.string(), z.string());

// ---------------------------------------------------------------------------
// Nested types

export const CommandSchema = z.object({
  command: z.string(),
  cwd: optional(z.string()),
  env: optional(stringMap),
});
export type Command = z.output<typeof CommandSchema>;

export const DownloadableSchema = z.object({
  download_url: z.string(),
  working_dir: z.string(),
});
export type Downloadable = z.output<typeof DownloadableSchema>;

export const OutputFormatSchema = z.object({
  type: z.literal("json_schema"),
  schema: z.record(z.string(), z.unknown()),
});
export type OutputFormat = z.output<typeof OutputFormatSchema>;

/** `output_format_json_schema_str` is JSON inside a string; check it here, at the edge. */
const outputFormatString = z.string().superRefine((text, ctx) => {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    ctx.addIssue({ code: "custom", message: "expected a JSON text, got text that does not parse as JSON" });
    return;
  }
  const result = OutputFormatSchema.safeParse(parsed);
  if (!result.success) {
    ctx.addIssue({
      code: "custom",
      message: 'expected {"type": "json_schema", "schema": {...}}',
    });
  }
});

const requestCommon = {
  source_id: optional(z.string()),
  secrets_to_redact: optional(z.array(z.string())).transform((value) => value ?? []),
  artifacts_dirs: optional(z.array(z.string())),
  /** Deprecated single form of `artifacts_dirs`; the runtime merges the two. */
  artifacts_dir: optional(z.string()),
  artifacts_ignore_content: optional(z.string()),
};

// ---------------------------------------------------------------------------
// Client -> runtime

export const InvocationMessageSchema = z.object({
  message_type: z.literal("invocation_message"),
  ...requestCommon,
  system_prompt: z.string(),
  user_prompt: z.string(),
  model: z.string(),
  agent_env: optional(stringMap),
  /** Extension: which of the runtime's agents runs this request (default: its first). */
  agent: optional(z.string()),
  output_format_json_schema_str: optional(outputFormatString),
  pre_agent_downloadables: optional(z.array(DownloadableSchema)),
  pre_agent_invocation_commands: optional(z.array(CommandSchema)),
  post_agent_invocation_commands: optional(z.array(CommandSchema)),
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

export const ClientMessageSchema = z.discriminatedUnion("message_type", [
  InvocationMessageSchema,
  CommandExecutionMessageSchema,
  CancelMessageSchema,
  ArtifactUploadResponseMessageSchema,
  EndSessionMessageSchema,
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
  phase: z.string(),
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

export const ErrorMessageSchema = z.object({
  message_type: z.literal("error_message"),
  error: z.string(),
  metadata: optional(metadata).transform((value) => value ?? {}),
});
export type ErrorMessage = z.input<typeof ErrorMessageSchema>;

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
]);
/** A runtime message as the runtime builds it (before defaults are applied). */
export type RuntimeMessage = z.input<typeof RuntimeMessageSchema>;
/** A runtime message as a client sees it after validation. */
export type ParsedRuntimeMessage = z.output<typeof RuntimeMessageSchema>;

export const TERMINAL_MESSAGE_TYPES = ["result_message", "command_execution_result_message", "error_message"] as const;
export type TerminalMessage = ResultMessage | CommandExecutionResultMessage | ErrorMessage;

export const CLIENT_MESSAGE_TYPES = ClientMessageSchema.options.map((option) => option.shape.message_type.value);
export const RUNTIME_MESSAGE_TYPES = RuntimeMessageSchema.options.map((option) => option.shape.message_type.value);
