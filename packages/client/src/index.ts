/**
 * `runtimeuse-client` outside Node.js: works wherever a standard `WebSocket`
 * exists (browsers, Deno, Bun, workers). On Node.js the package name resolves
 * to `./node.js` instead (the `node` export condition): the same API over
 * `ws`, with the token sent as a header.
 */
export { RuntimeUseClient } from "./client.js";
export {
  AgentRuntimeError,
  CancelledError,
  ConnectionError,
  ConnectionLostError,
  InvalidOptionsError,
  ProtocolViolationError,
  RuntimeUseClientError,
  SessionClosedError,
  TimeoutError,
  type TimeoutName,
} from "./errors.js";
export { RuntimeUseSession } from "./session.js";
export {
  type StandardWebSocket,
  type StandardWebSocketConstructor,
  StandardWebSocketTransport,
  type StandardWebSocketTransportOptions,
} from "./transport/standard.js";
export type { Connection, ConnectionHandlers, ConnectTarget, Transport } from "./transport/types.js";
export type {
  ApprovalDecision,
  ApprovalPolicy,
  ApprovalRequest,
  ArtifactManifestEntry,
  ArtifactUploadRequest,
  ArtifactUploadTarget,
  AssistantMessageEvent,
  CommandExecutionResult,
  CommandOutputEvent,
  CommandResult,
  CommandSpec,
  Downloadable,
  ExecuteCommandsOptions,
  HeartbeatEvent,
  OnApprovalRequest,
  OnArtifactUploadRequest,
  OnQuestion,
  QueryOptions,
  QueryResult,
  QueryResultData,
  QuestionRequest,
  ReconnectEvent,
  RuntimeUseClientOptions,
  SessionCloseResult,
  SessionOptions,
  StreamEvent,
  StreamOptions,
  ToolKind,
  Usage,
} from "./types.js";
