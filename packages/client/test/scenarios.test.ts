import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { describe, test } from "node:test";
import {
  AgentRuntimeError,
  type ApprovalRequest,
  CancelledError,
  type CommandExecutionResult,
  ConnectionError,
  ProtocolViolationError,
  type QueryResult,
  type QuestionRequest,
  RuntimeUseClient,
  SessionClosedError,
} from "../src/index.js";
import { type MemoryPeer, memoryTransport } from "./support/memory-transport.js";
import { Q } from "./support/runtime.js";

/*
 * The shared client scenarios (packages/protocol/fixtures/scenarios, format in
 * the fixtures README), run against the real client through an in-memory
 * transport: each one as a one-shot call, and, unless it says otherwise, as a
 * session request followed by a check that the session is usable or ended.
 * The Python client runs the same files (python/tests/unit/test_scenarios.py).
 */

type Kind = "assistant" | "command_output" | "heartbeat" | "artifact" | "approval" | "question";
type Step = { send: unknown } | { raw: string } | { receive: string } | { close: { code: number; reason: string } };
type ExpectedError =
  | { kind: "runtime_error"; code?: string; message: string; metadata?: Record<string, unknown> }
  | { kind: "protocol_violation"; code: string; field?: string }
  | { kind: "connection_closed"; code: string }
  | { kind: "cancelled" }
  | { kind: "callback_error"; callback: Kind };

interface Scenario {
  title: string;
  request: "query" | "commands";
  callbacks: Partial<Record<Kind, "record" | "throw" | "abort" | "answer" | "allow" | "deny">>;
  runtime: Step[];
  expect: {
    callbacks: Array<[Kind, Record<string, unknown>]>;
    sent: Record<string, unknown>[];
    outcome: { result: Record<string, unknown> } | { error: ExpectedError };
    session: "usable" | "ended" | null;
  };
}

const DIR = new URL("../../protocol/fixtures/scenarios/", import.meta.url);
const scenarios = readdirSync(DIR)
  .filter((name) => name.endsWith(".json"))
  .sort()
  .map((name) => ({ name, scenario: JSON.parse(readFileSync(new URL(name, DIR), "utf8")) as Scenario }));

const REQUEST_TYPES = { query: "invocation_message", commands: "command_execution_message" } as const;

async function expectType(peer: MemoryPeer, type: string): Promise<void> {
  const message = await peer.next();
  assert.equal(message.message_type, type, `the runtime expected ${type}, got ${JSON.stringify(message)}`);
}

/** Plays the scenario's runtime; in a session, then answers a follow-up command execution and the end. */
function runtimeScript(scenario: Scenario, inSession: boolean) {
  return async (peer: MemoryPeer) => {
    await expectType(peer, REQUEST_TYPES[scenario.request]);
    for (const step of scenario.runtime) {
      if ("send" in step) peer.send(JSON.stringify(step.send));
      else if ("raw" in step) peer.send(step.raw);
      else if ("receive" in step) await expectType(peer, step.receive);
      else return peer.close(step.close.code, step.close.reason);
    }
    if (!inSession) return;
    for (;;) {
      const message = await peer.next().catch(() => undefined);
      if (message === undefined) return;
      if (message.message_type === "command_execution_message") {
        peer.send(JSON.stringify({ message_type: "command_execution_result_message", results: [] }));
      } else if (message.message_type === "end_session_message") {
        peer.send(JSON.stringify({ message_type: "end_session_confirm_message", artifacts: [] }));
        return;
      }
    }
  };
}

/** The request's options: callbacks that record their calls, in wire shape, and behave as the scenario says. */
function callbackOptions(scenario: Scenario, abort: () => void) {
  const calls: Array<[Kind, Record<string, unknown>]> = [];
  const thrown = new Map<Kind, Error>();
  const called = (kind: Kind, args: Record<string, unknown>) => {
    calls.push([kind, args]);
    const behaviour = scenario.callbacks[kind];
    if (behaviour === "throw") {
      const error = new Error(`the ${kind} callback failed`);
      thrown.set(kind, error);
      throw error;
    }
    if (behaviour === "abort") abort();
  };
  const has = (kind: Kind) => scenario.callbacks[kind] !== undefined;
  const options = {
    ...(has("assistant") && {
      onAssistantMessage: (event: { textBlocks: string[] }) =>
        called("assistant", { message_type: "assistant_message", text_blocks: event.textBlocks }),
    }),
    ...(has("command_output") && {
      onCommandOutput: (event: { stream: string; text: string; command: string }) =>
        called("command_output", {
          message_type: "command_output_message",
          stream: event.stream,
          text: event.text,
          command: event.command,
        }),
    }),
    ...(has("heartbeat") && {
      onHeartbeat: (event: { phase: string; elapsedMs: number }) =>
        called("heartbeat", { message_type: "heartbeat_message", phase: event.phase, elapsed_ms: event.elapsedMs }),
    }),
    ...(has("artifact") && {
      artifactsDirs: ["/out"],
      onArtifactUploadRequest: (request: { filename: string; filepath: string }) => {
        called("artifact", { message_type: "artifact_upload_request_message", ...request });
        return { presignedUrl: `https://uploads.test/${request.filename}`, contentType: "application/octet-stream" };
      },
    }),
    ...(has("approval") && {
      approvalPolicy: "always" as const,
      onApprovalRequest: (request: ApprovalRequest) => {
        called("approval", {
          message_type: "approval_request_message",
          request_id: request.requestId,
          tool_name: request.toolName,
          tool_kind: request.toolKind,
          input: request.input,
          ...(request.reason === undefined ? {} : { reason: request.reason }),
        });
        return scenario.callbacks.approval === "deny"
          ? { decision: "deny" as const, message: "not now" }
          : { decision: "allow" as const };
      },
    }),
    ...(has("question") && {
      onQuestion: (question: QuestionRequest) => {
        called("question", {
          message_type: "question_request_message",
          request_id: question.requestId,
          question: question.question,
          ...(question.header === undefined ? {} : { header: question.header }),
          ...(question.options === undefined ? {} : { options: question.options }),
          ...(question.multiSelect === undefined ? {} : { multi_select: question.multiSelect }),
        });
        return "staging";
      },
    }),
  };
  return { options, calls, thrown };
}

/** The call's result in the wire shape the scenarios use. */
function wireResult(result: QueryResult | CommandExecutionResult): Record<string, unknown> {
  if ("results" in result) {
    return {
      results: result.results.map((item) => ({
        command: item.command,
        exit_code: item.exitCode,
        ...(item.stdout === undefined ? {} : { stdout: item.stdout }),
        ...(item.stdoutTruncated === undefined ? {} : { stdout_truncated: item.stdoutTruncated }),
      })),
    };
  }
  // `usage` and `interrupted` are read from metadata, which the scenarios compare whole.
  const data =
    result.data.type === "text"
      ? result.data
      : { type: "structured_output", structured_output: result.data.structuredOutput };
  return { data, metadata: result.metadata };
}

function checkError(error: unknown, expected: ExpectedError, thrown: Map<Kind, Error>): void {
  switch (expected.kind) {
    case "runtime_error":
      assert.ok(error instanceof AgentRuntimeError, `expected an AgentRuntimeError, got ${String(error)}`);
      assert.equal(error.error, expected.message);
      assert.equal(error.code, expected.code);
      if (expected.metadata) assert.deepEqual(error.metadata, expected.metadata);
      return;
    case "protocol_violation":
      assert.ok(error instanceof ProtocolViolationError, `expected a ProtocolViolationError, got ${String(error)}`);
      assert.equal(error.code, expected.code);
      assert.equal(error.field, expected.field);
      return;
    case "connection_closed":
      assert.ok(error instanceof ConnectionError, `expected a ConnectionError, got ${String(error)}`);
      assert.equal(error.code, expected.code);
      return;
    case "cancelled":
      assert.ok(error instanceof CancelledError, `expected a CancelledError, got ${String(error)}`);
      return;
    case "callback_error":
      assert.equal(error, thrown.get(expected.callback), "the callback's own error, unchanged");
  }
}

async function run(scenario: Scenario, inSession: boolean): Promise<void> {
  const transport = memoryTransport(runtimeScript(scenario, inSession));
  const client = new RuntimeUseClient({ url: "ws://memory.test", transport });
  const session = inSession ? await client.session() : undefined;
  const target = session ?? client;
  const { options, calls, thrown } = callbackOptions(scenario, () => target.abort());
  const call: Promise<QueryResult | CommandExecutionResult> =
    scenario.request === "query"
      ? target.query("go", { ...Q, ...options })
      : target.executeCommands([{ command: "make" }], options);
  const outcome = await call.then(
    (result) => ({ result: wireResult(result) }),
    (error: unknown) => ({ error }),
  );

  const { expect } = scenario;
  if ("result" in expect.outcome) assert.deepEqual(outcome, expect.outcome);
  else {
    assert.ok("error" in outcome, `expected the call to fail, it returned ${JSON.stringify(outcome)}`);
    checkError(outcome.error, expect.outcome.error, thrown);
  }
  assert.deepEqual(calls, expect.callbacks, "callbacks, in order, with their arguments");

  const peer = transport.peers[0] as MemoryPeer;
  if (session && expect.session === "usable") {
    assert.deepEqual(await session.executeCommands([{ command: "true" }]), { results: [] }, "the session is usable");
    assert.deepEqual(await session.close(), { artifacts: [] });
  } else if (session) {
    await assert.rejects(session.executeCommands([{ command: "true" }]), SessionClosedError);
    assert.deepEqual(await session.close(), { artifacts: undefined });
  }
  await peer.closed;
  // What the client sent after its request, up to a session's next request or its end.
  const after = peer.sent.slice(1);
  const next = after.findIndex(
    (m) => m.message_type === "command_execution_message" || m.message_type === "end_session_message",
  );
  assert.deepEqual(next === -1 ? after : after.slice(0, next), expect.sent, "what the client sent after its request");
}

describe("shared client scenarios", () => {
  test("the scenario folder is there and not empty", () => {
    assert.ok(scenarios.length >= 7, `only ${scenarios.length} scenarios under ${DIR.pathname}`);
  });
  for (const { name, scenario } of scenarios) {
    describe(`${name}: ${scenario.title}`, () => {
      test("as a one-shot call", () => run(scenario, false));
      if (scenario.expect.session !== null) {
        test(`as a session request, the session being ${scenario.expect.session} afterwards`, () =>
          run(scenario, true));
      }
    });
  }
});
