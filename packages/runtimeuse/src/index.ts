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
export { runCommand } from "./commands/runner.js";
export type { CommandOutcome, RunCommandOptions } from "./commands/types.js";
export type { ConversationSettings } from "./conversations/settings.js";
export { BUILTIN_AGENTS } from "./handlers/builtin.js";
export { echoHandler } from "./handlers/echo.js";
export { claudeHandler, openaiHandler } from "./handlers/lazy.js";
export { loadHandlerModule } from "./handlers/load.js";
export { createLogger, createStreamSink, type Logger, type LogSink, silentSink } from "./logger.js";
export { REDACTED, redactSecrets, redactText } from "./redact/redact.js";
export { type ListeningAddress, RuntimeUseServer, type RuntimeUseServerOptions } from "./server/server.js";
export { type SessionEffect, SessionEngine, type SessionState } from "./session/engine.js";
export { WebSocketSession, type WebSocketSessionOptions } from "./session/websocket-session.js";
export type {
  AgentCommandOptions,
  AgentHandler,
  AgentHandlerFunction,
  AgentHandlerLike,
  AgentInvocation,
  AgentResult,
  Conversation,
  JsonValue,
  MessageSender,
} from "./types.js";
