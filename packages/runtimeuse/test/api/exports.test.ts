import assert from "node:assert/strict";
import { test } from "node:test";

test("the runtimeuse package exports exactly its public API", async () => {
  const api = await import("runtimeuse");
  assert.deepEqual(Object.keys(api).sort(), [
    "BUILTIN_AGENTS",
    "ErrorCode",
    "REDACTED",
    "RuntimeUseServer",
    "SessionEngine",
    "WebSocketSession",
    "createLogger",
    "createStreamSink",
    "echoHandler",
    "loadHandlerModule",
    "redactSecrets",
    "redactText",
    "runCommand",
    "silentSink",
  ]);
});

test("the protocol package exports exactly its public API", async () => {
  const api = await import("@runtimeuse/protocol");
  assert.deepEqual(Object.keys(api).sort(), [
    "ArtifactManifestEntrySchema",
    "ArtifactStatusSchema",
    "ArtifactUploadRequestMessageSchema",
    "ArtifactUploadResponseMessageSchema",
    "AssistantMessageSchema",
    "CLIENT_MESSAGE_TYPES",
    "CancelMessageSchema",
    "ClientMessageSchema",
    "CommandExecutionMessageSchema",
    "CommandExecutionResultMessageSchema",
    "CommandOutputMessageSchema",
    "CommandResultItemSchema",
    "CommandSchema",
    "DownloadableSchema",
    "EndSessionConfirmMessageSchema",
    "EndSessionMessageSchema",
    "ErrorCode",
    "ErrorMessageSchema",
    "HeartbeatMessageSchema",
    "InvocationMessageSchema",
    "OutputFormatSchema",
    "RUNTIME_MESSAGE_TYPES",
    "ResultDataSchema",
    "ResultMessageSchema",
    "RuntimeMessageSchema",
    "StructuredOutputResultSchema",
    "TERMINAL_MESSAGE_TYPES",
    "TextResultSchema",
    "formatPath",
    "parseClientMessage",
    "parseRuntimeMessage",
    "validateClientMessage",
    "validateRuntimeMessage",
  ]);
});
