import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { promisify } from "node:util";
import { hookRegistration } from "../agents/cli.js";

test("the runtimeuse package exports exactly the API README.md documents, no internals", async () => {
  const api = await import("runtimeuse");
  assert.deepEqual(Object.keys(api).sort(), [
    "ErrorCode",
    "REDACTED",
    "RuntimeUseServer",
    "WebSocketSession",
    "claudeHandler",
    "createClaudeHandler",
    "createOpenAIHandler",
    "createStreamSink",
    "echoHandler",
    "loadHandlerModule",
    "openaiHandler",
    "redactSecrets",
    "redactText",
    "runCommand",
    "silentSink",
    "startAcpAgent",
  ]);
});

test("every value runtimeuse exports is named in README.md", async () => {
  const readme = await readFile(new URL("../../../../README.md", import.meta.url), "utf8");
  const undocumented = Object.keys(await import("runtimeuse")).filter((name) => !readme.includes(`\`${name}`));
  assert.deepEqual(undocumented, []);
});

test("the protocol package exports exactly its public API", async () => {
  const api = await import("@runtimeuse/protocol");
  assert.deepEqual(Object.keys(api).sort(), [
    "AckMessageSchema",
    "ApprovalPolicySchema",
    "ApprovalRequestMessageSchema",
    "ApprovalResponseMessageSchema",
    "ArtifactManifestEntrySchema",
    "ArtifactStatusSchema",
    "ArtifactUploadRequestMessageSchema",
    "ArtifactUploadResponseMessageSchema",
    "AssistantMessageSchema",
    "CLIENT_CONTROL_TYPES",
    "CLIENT_MESSAGE_TYPES",
    "CONVERSATION_ID_MAX_LENGTH",
    "CancelMessageSchema",
    "ClientErrorCode",
    "ClientMessageSchema",
    "CommandExecutionMessageSchema",
    "CommandExecutionResultMessageSchema",
    "CommandOutputMessageSchema",
    "CommandResultItemSchema",
    "CommandSchema",
    "ConversationIdSchema",
    "DownloadableSchema",
    "EndSessionConfirmMessageSchema",
    "EndSessionMessageSchema",
    "ErrorCode",
    "ErrorMessageSchema",
    "HeartbeatMessageSchema",
    "InterruptMessageSchema",
    "InvocationMessageSchema",
    "LAST_SEQ_PARAM",
    "OutputFormatSchema",
    "QuestionOptionSchema",
    "QuestionRequestMessageSchema",
    "QuestionResponseMessageSchema",
    "RESUMABLE_PARAM",
    "RESUME_PARAM",
    "RESUME_SECRET_HEADER",
    "RESUME_SECRET_PARAM",
    "RUNTIME_CONTROL_TYPES",
    "RUNTIME_MESSAGE_TYPES",
    "ResponseErrorMessageSchema",
    "ResultDataSchema",
    "ResultMessageSchema",
    "ResumeCloseCode",
    "ResumedMessageSchema",
    "RuntimeControlMessageSchema",
    "RuntimeMessageSchema",
    "SeqSchema",
    "SessionMessageSchema",
    "StructuredOutputResultSchema",
    "TERMINAL_MESSAGE_TYPES",
    "TOOL_KINDS",
    "TextResultSchema",
    "ToolKindSchema",
    "UsageSchema",
    "addUsage",
    "envelopeSeq",
    "formatPath",
    "isConversationId",
    "parseClientFrame",
    "parseClientMessage",
    "parseRuntimeFrame",
    "parseRuntimeMessage",
    "textPlanOf",
    "toOutputFormat",
    "validateClientMessage",
    "validateRuntimeMessage",
    "zeroUsage",
  ]);
});

test("importing runtimeuse loads no agent SDK, ACP host, file watcher, archive reader, module lexer or module resolver until one is used", async () => {
  const dir = await mkdtemp(join(tmpdir(), "ru-imports-"));
  const log = join(dir, "imports.log");
  try {
    const script = [
      'const api = await import("runtimeuse");',
      'if (typeof api.openaiHandler.run !== "function") process.exit(3);',
      'if (typeof api.createClaudeHandler({ cwd: "/" }).run !== "function") process.exit(4);',
    ].join(" ");
    await promisify(execFile)(process.execPath, [
      "--import",
      hookRegistration(log),
      "--input-type=module",
      "-e",
      script,
    ]);
    const seen = (await readFile(log, "utf8")).split("\n");
    assert.ok(seen.includes("runtimeuse"), "the hook saw the import");
    const lazy = [
      "@openai/agents",
      "openai",
      "@anthropic-ai/",
      "@agentclientprotocol/",
      "chokidar",
      "ignore",
      "tar",
      "yauzl",
      "sucrase",
      "ajv",
      "es-module-lexer",
      "import-meta-resolve",
    ];
    const loaded = seen.filter((specifier) =>
      lazy.some((name) => specifier === name || specifier.startsWith(name.endsWith("/") ? name : `${name}/`)),
    );
    assert.deepEqual(loaded, []);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
