import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { promisify } from "node:util";
import { hookRegistration } from "../agents/cli.js";

test("the runtimeuse package exports exactly its public API", async () => {
  const api = await import("runtimeuse");
  assert.deepEqual(Object.keys(api).sort(), [
    "BUILTIN_AGENTS",
    "ErrorCode",
    "REDACTED",
    "RuntimeUseServer",
    "SessionEngine",
    "WebSocketSession",
    "claudeHandler",
    "createLogger",
    "createStreamSink",
    "echoHandler",
    "loadHandlerModule",
    "openaiHandler",
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
    "UsageSchema",
    "formatPath",
    "parseClientMessage",
    "parseRuntimeMessage",
    "validateClientMessage",
    "validateRuntimeMessage",
  ]);
});

test("importing runtimeuse loads no agent SDK until a built-in handler runs", async () => {
  const dir = await mkdtemp(join(tmpdir(), "ru-imports-"));
  const log = join(dir, "imports.log");
  try {
    const script =
      'const api = await import("runtimeuse"); if (typeof api.openaiHandler.run !== "function") process.exit(3);';
    await promisify(execFile)(process.execPath, [
      "--import",
      hookRegistration(log),
      "--input-type=module",
      "-e",
      script,
    ]);
    const seen = (await readFile(log, "utf8")).split("\n");
    assert.ok(seen.includes("runtimeuse"), "the hook saw the import");
    assert.equal(seen.filter((s) => s.startsWith("@openai/agents") || s.startsWith("@anthropic-ai/")).length, 0);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
