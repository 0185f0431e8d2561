// The package's public API: what README.md "Embedding" and "A custom handler"
// document, pinned by test/api/exports.test.ts. Internals (the session
// engine, the built-in agent table) stay unexported.
export {
  type ArtifactManifestEntry,
  type ArtifactUploadRequestMessage,
  type ArtifactUploadResponseMessage,
  type AssistantMessage,
  type CancelMessage,
  type ClientMessage,
  type Command,
  type CommandExecutionMessage,
  type CommandExecutionResultMessage,
  type CommandOutputMessage,
  type CommandResultItem,
  type Downloadable,
  type EndSessionConfirmMessage,
  type EndSessionMessage,
  ErrorCode,
  type ErrorMessage,
  type HeartbeatMessage,
  type InvocationMessage,
  type OutputFormat,
  type ResultMessage,
  type RuntimeMessage,
} from "@runtimeuse/protocol";
export type { ArtifactSettings } from "./artifacts/index.js";
export { type CommandOutcome, type RunCommandOptions, runCommand } from "./commands/index.js";
export type { ConversationSettings } from "./conversations/index.js";
export type {
  AgentCommandOptions,
  AgentHandler,
  AgentHandlerFunction,
  AgentHandlerLike,
  AgentInvocation,
  AgentResult,
  ApprovalDecision,
  ApprovalPolicy,
  ApprovalRequest,
  Conversation,
  JsonValue,
  MessageSender,
  Question,
  QuestionAnswer,
  ToolKind,
  Usage,
} from "./handler.js";
export {
  type AcpAgentOptions,
  type AcpHandler,
  type AcpPermissionPolicy,
  type AcpPresetName,
  type AcpPresetOptions,
  type ClaudeHandlerOptions,
  claudeHandler,
  createClaudeHandler,
  createOpenAIHandler,
  echoHandler,
  loadHandlerModule,
  type OpenAIHandlerOptions,
  openaiHandler,
  type ShellToolOptions,
  startAcpAgent,
} from "./handlers/index.js";
export {
  createStreamSink,
  type LogFields,
  type Logger,
  type LogLevel,
  type LogSink,
  type StreamSinkOptions,
  silentSink,
} from "./logger.js";
export { REDACTED, redactText } from "./redact/index.js";
export {
  type AuthThrottleOptions,
  type ListeningAddress,
  RuntimeUseServer,
  type RuntimeUseServerOptions,
} from "./server/index.js";
export { redactSecrets, WebSocketSession, type WebSocketSessionOptions } from "./session/index.js";
