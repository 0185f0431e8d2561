import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { echoHandler } from "../../src/handlers/index.js";
import { isAlive, WAIT_MS, waitUntil } from "../agents/harness.js";
import { type Frame, invocation, RawClient } from "../support/client.js";
import { startTestServer, type TestServer } from "../support/server.js";
import { startedPid, untilType } from "./support.js";

// The echo agent told (through agent_env) to run a command as a tool call and
// to ask a question: the runtime's approvals, questions and interrupt through
// a real server and real processes, without a model.

let server: TestServer;
let dir: string;
const clients: RawClient[] = [];

before(async () => {
  server = await startTestServer({ handler: echoHandler, heartbeatIntervalMs: 40 });
  dir = await mkdtemp(join(tmpdir(), "runtimeuse-hitl-echo-"));
});
after(async () => {
  await Promise.all(clients.map((client) => client.close()));
  await server.close();
  await rm(dir, { recursive: true, force: true });
});

async function connect(): Promise<RawClient> {
  const client = await RawClient.connect(server.url);
  clients.push(client);
  return client;
}

const withoutHeartbeats = (frames: Frame[]) => frames.filter((f) => f.message_type !== "heartbeat_message");

function echo(fields: Record<string, unknown>, env: Record<string, string>) {
  return invocation({ user_prompt: "go", agent_env: env, ...fields });
}

describe("a person in the loop, through the echo agent", () => {
  test("no policy: nobody is asked, the command runs, and the frames are today's plus metadata.usage", async () => {
    const marker = join(dir, "ran-without-policy");
    const client = await connect();
    client.send(echo({}, { ECHO_COMMAND: `touch ${marker}` }));
    const { frames, terminal } = await client.untilTerminal(WAIT_MS);
    assert.deepEqual(
      [...new Set(withoutHeartbeats(frames).map((f) => f.message_type))],
      ["assistant_message", "result_message"],
    );
    assert.ok(existsSync(marker));
    assert.deepEqual(terminal.data, { type: "text", text: "go\nshell: exit_code 0" });
    assert.deepEqual((terminal.metadata as Record<string, unknown>).usage, {
      input_tokens: 0,
      output_tokens: 0,
      cache_read_tokens: 0,
      cache_write_tokens: 0,
      model_calls: 0,
    });
  });

  test("allow: the approval request names the tool, kind and redacted input; the answer runs the command", async () => {
    const marker = join(dir, "allowed");
    const client = await connect();
    client.send(
      echo(
        { approval_policy: ["shell"], secrets_to_redact: ["hunter2"] },
        { ECHO_COMMAND: `touch ${marker} # hunter2` },
      ),
    );
    const request = await untilType(client, "approval_request_message");
    assert.equal(request.tool_name, "shell");
    assert.equal(request.tool_kind, "execute");
    assert.deepEqual(request.input, { command: `touch ${marker} # [REDACTED]` });
    assert.ok(!existsSync(marker), "nothing runs before the answer");
    client.send({ message_type: "approval_response_message", request_id: request.request_id, decision: "allow" });
    const { terminal } = await client.untilTerminal(WAIT_MS);
    assert.equal((terminal.data as { text: string }).text, "go\nshell: exit_code 0");
    assert.ok(existsSync(marker));
  });

  test("deny: the command does not run and the agent is told the client's message", async () => {
    const marker = join(dir, "denied");
    const client = await connect();
    client.send(echo({ approval_policy: "always" }, { ECHO_COMMAND: `touch ${marker}` }));
    const request = await untilType(client, "approval_request_message");
    client.send({
      message_type: "approval_response_message",
      request_id: request.request_id,
      decision: "deny",
      message: "not today",
    });
    const { terminal } = await client.untilTerminal(WAIT_MS);
    assert.equal(
      (terminal.data as { text: string }).text,
      "go\nshell: denied: The user denied this tool call: not today",
    );
    assert.ok(!existsSync(marker));
  });

  test("a policy naming another tool or kind asks nothing", async () => {
    const marker = join(dir, "other-policy");
    const client = await connect();
    client.send(echo({ approval_policy: ["Write", "edit"] }, { ECHO_COMMAND: `touch ${marker}` }));
    const { frames } = await client.untilTerminal(WAIT_MS);
    assert.ok(!frames.some((f) => f.message_type === "approval_request_message"));
    assert.ok(existsSync(marker));
  });

  test("while waiting, heartbeats say awaiting_approval; past approval_timeout_ms it is a deny with a note, and a late answer is refused without disturbing the session", async () => {
    const marker = join(dir, "timed-out");
    const client = await connect();
    client.send(echo({ approval_policy: "always", approval_timeout_ms: 300 }, { ECHO_COMMAND: `touch ${marker}` }));
    const request = await untilType(client, "approval_request_message");
    const beat = await untilType(client, "heartbeat_message");
    assert.equal(beat.phase, "awaiting_approval");
    const { terminal } = await client.untilTerminal(WAIT_MS);
    assert.equal(
      (terminal.data as { text: string }).text,
      "go\nshell: denied: The tool call was denied: the user gave no answer within 300 ms.",
    );
    assert.ok(!existsSync(marker));
    client.send({ message_type: "approval_response_message", request_id: request.request_id, decision: "allow" });
    const refusal = await client.next(WAIT_MS);
    assert.equal(refusal.message_type, "response_error_message");
    assert.equal(refusal.request_id, request.request_id);
    assert.deepEqual(refusal.metadata, { code: "unknown_request_id" });
    client.send(echo({}, {}));
    const next = await client.untilTerminal(WAIT_MS);
    assert.equal(next.terminal.message_type, "result_message", "the session goes on");
  });

  test("an approval_timeout_ms past setTimeout's range (35 days) waits for the answer instead of denying at once", async () => {
    const marker = join(dir, "long-timeout");
    const client = await connect();
    client.send(
      echo({ approval_policy: "always", approval_timeout_ms: 3_000_000_000 }, { ECHO_COMMAND: `touch ${marker}` }),
    );
    const request = await untilType(client, "approval_request_message");
    const meanwhile = await client.drain(300);
    assert.deepEqual(
      meanwhile.filter((f) => f.message_type !== "heartbeat_message"),
      [],
      "no denial, no terminal while the answer is awaited",
    );
    client.send({ message_type: "approval_response_message", request_id: request.request_id, decision: "allow" });
    const { terminal } = await client.untilTerminal(WAIT_MS);
    assert.equal((terminal.data as { text: string }).text, "go\nshell: exit_code 0");
    assert.ok(existsSync(marker));
  });

  test("a stray answer during a request gets response_error_message and the request goes on to its result", async () => {
    const client = await connect();
    client.send(echo({ approval_policy: "always" }, { ECHO_COMMAND: "true" }));
    const request = await untilType(client, "approval_request_message");
    client.send({ message_type: "question_response_message", request_id: "question-999", answer: "?" });
    const refusal = await untilType(client, "response_error_message");
    assert.equal(refusal.request_id, "question-999");
    client.send({ message_type: "approval_response_message", request_id: request.request_id, decision: "allow" });
    const { terminal } = await client.untilTerminal(WAIT_MS);
    assert.equal((terminal.data as { text: string }).text, "go\nshell: exit_code 0");
  });

  test("a question reaches the client and its answer reaches the agent; without allow_questions nobody is asked", async () => {
    const client = await connect();
    client.send(echo({ allow_questions: true }, { ECHO_QUESTION: "Which database?" }));
    const question = await untilType(client, "question_request_message");
    assert.equal(question.question, "Which database?");
    const beat = await untilType(client, "heartbeat_message");
    assert.equal(beat.phase, "awaiting_answer");
    client.send({ message_type: "question_response_message", request_id: question.request_id, answer: "Postgres" });
    const answered = await client.untilTerminal(WAIT_MS);
    assert.equal((answered.terminal.data as { text: string }).text, "go\nanswer: Postgres");

    client.send(echo({}, { ECHO_QUESTION: "Which database?" }));
    const { frames, terminal } = await client.untilTerminal(WAIT_MS);
    assert.ok(!frames.some((f) => f.message_type === "question_request_message"));
    assert.equal(
      (terminal.data as { text: string }).text,
      "go\nno answer: No one can answer questions in this session.",
    );
  });

  test("a cancel while waiting ends the request with Request cancelled; the answer afterwards is refused", async () => {
    const client = await connect();
    client.send(echo({ approval_policy: "always" }, { ECHO_COMMAND: "true" }));
    const request = await untilType(client, "approval_request_message");
    client.send({ message_type: "cancel_message" });
    const { terminal } = await client.untilTerminal(WAIT_MS);
    assert.equal(terminal.error, "Request cancelled");
    client.send({ message_type: "approval_response_message", request_id: request.request_id, decision: "allow" });
    const refusal = await untilType(client, "response_error_message");
    assert.equal(refusal.request_id, request.request_id);
  });

  test("interrupt during a long command: its processes are gone, post-commands ran, artifacts offered, the result is flagged interrupted", async () => {
    const pidFile = join(dir, "sleep.pid");
    const artifacts = join(dir, "interrupt-artifacts");
    const client = await connect();
    client.send(
      echo(
        {
          artifacts_dirs: [artifacts],
          post_agent_invocation_commands: [{ command: `echo after > ${join(artifacts, "post.txt")}` }],
        },
        { ECHO_COMMAND: `sleep 300 & echo $! > ${pidFile}; wait` },
      ),
    );
    const pid = await startedPid(pidFile);
    client.send({ message_type: "interrupt_message" });
    const { frames, terminal } = await client.untilTerminal(WAIT_MS);
    assert.equal(terminal.message_type, "result_message", JSON.stringify(terminal));
    const metadata = terminal.metadata as Record<string, unknown>;
    assert.equal(metadata.interrupted, true);
    assert.match((terminal.data as { text: string }).text, /^go\nshell: exit_code \d+ \(killed\)$/);
    assert.ok(!isAlive(pid), "the tool's process is gone");
    assert.equal(readFileSync(join(artifacts, "post.txt"), "utf8"), "after\n");
    assert.ok(
      frames.some((f) => f.message_type === "artifact_upload_request_message" && f.filename === "post.txt"),
      "the post-command's file was offered",
    );
  });

  test("interrupt: a tool process that takes its time to exit on SIGTERM is gone before the result is sent", async () => {
    const pidFile = join(dir, "slow-exit.pid");
    const client = await connect();
    // The background shell exits 0.4 s after its SIGTERM: the result must wait for it.
    const slowExit = `sh -c 'trap "sleep 0.4; exit 0" TERM; while :; do sleep 0.05; done' & echo $! > ${pidFile}; wait`;
    client.send(echo({}, { ECHO_COMMAND: slowExit }));
    const pid = await startedPid(pidFile);
    client.send({ message_type: "interrupt_message" });
    const { terminal } = await client.untilTerminal(WAIT_MS);
    assert.equal(terminal.message_type, "result_message", JSON.stringify(terminal));
    assert.equal((terminal.metadata as Record<string, unknown>).interrupted, true);
    assert.ok(!isAlive(pid), "the slow-exiting process was gone when the result came");
  });

  test("an interrupt before the agent starts skips it; the result is empty text, flagged interrupted", async () => {
    const marker = join(dir, "skipped");
    const started = join(dir, "pre-started");
    const client = await connect();
    client.send(
      echo(
        { pre_agent_invocation_commands: [{ command: `touch ${started}; sleep 0.5` }] },
        { ECHO_COMMAND: `touch ${marker}` },
      ),
    );
    await waitUntil(() => existsSync(started), "the pre-command started");
    client.send({ message_type: "interrupt_message" });
    const { frames, terminal } = await client.untilTerminal(WAIT_MS);
    assert.deepEqual(terminal.data, { type: "text", text: "" });
    assert.equal((terminal.metadata as Record<string, unknown>).interrupted, true);
    assert.ok(!frames.some((f) => f.message_type === "assistant_message"), "the agent never ran");
    assert.ok(!existsSync(marker));
  });
});
