import assert from "node:assert/strict";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { createServer, maxHeaderSize } from "node:http";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import type { AgentHandler, AgentInvocation } from "../../src/handler.js";
import { commands, type Frame, invocation, RawClient, waitFor } from "../support/client.js";
import { startTestServer, type TestServer } from "../support/server.js";

/** Handler behaviours chosen by the prompt, so one server serves every test. */
const signals: AbortSignal[] = [];
const scripted: AgentHandler = {
  async run(invocation: AgentInvocation, sender) {
    const prompt = invocation.userPrompt;
    if (prompt === "wait") {
      signals.push(invocation.signal);
      await new Promise<void>((resolve) => invocation.signal.addEventListener("abort", () => resolve()));
      await sender.sendAssistantMessage(["after abort"]);
      return { type: "text", text: "after abort" };
    }
    if (prompt === "error-then-throw") {
      sender.sendErrorMessage("handler gave up", { step: 3 });
      await sender.sendAssistantMessage(["after error"]);
      throw new Error("thrown after sendErrorMessage");
    }
    if (prompt === "throw") throw new Error("handler exploded");
    if (prompt === "bad-result") return { type: "text" } as never;
    if (prompt === "slow") {
      await new Promise((resolve) => setTimeout(resolve, 700));
      return { type: "text", text: "slow done" };
    }
    if (prompt === "structured") {
      return {
        type: "structured_output",
        structuredOutput: { format: invocation.outputFormat ?? null },
        metadata: { n: 1 },
      };
    }
    if (prompt === "env") return { type: "text", text: JSON.stringify(invocation.env) };
    await sender.sendAssistantMessage([`echo ${prompt}`, "second block"]);
    return { type: "text", text: prompt };
  },
};

let server: TestServer;
before(async () => {
  server = await startTestServer({ handler: scripted, heartbeatIntervalMs: 100, windDownTimeoutMs: 2_000 });
});
after(() => server.close());

async function request(message: unknown): Promise<{ frames: Frame[]; terminal: Frame; client: RawClient }> {
  const client = await RawClient.connect(server.url);
  client.send(message);
  const { frames, terminal } = await client.untilTerminal();
  return { frames: frames.filter((f) => f.message_type !== "heartbeat_message"), terminal, client };
}

describe("RuntimeUseServer with a raw ws client", () => {
  test("an invocation streams assistant messages, then one result_message", async () => {
    const { frames, client } = await request(invocation({ user_prompt: "hi" }));
    assert.deepEqual(frames, [
      { message_type: "assistant_message", text_blocks: ["echo hi", "second block"] },
      { message_type: "result_message", metadata: {}, data: { type: "text", text: "hi" } },
    ]);
    await client.close();
  });

  test("null in every optional field means absent", async () => {
    const { terminal, client } = await request(
      invocation({
        user_prompt: "env",
        source_id: null,
        agent_env: null,
        secrets_to_redact: null,
        output_format_json_schema_str: null,
        artifacts_dirs: null,
        artifacts_dir: null,
        artifacts_ignore_content: null,
        pre_agent_downloadables: null,
        pre_agent_invocation_commands: [{ command: "true", cwd: null, env: null }],
        post_agent_invocation_commands: null,
      }),
    );
    assert.deepEqual(terminal, { message_type: "result_message", metadata: {}, data: { type: "text", text: "{}" } });
    client.send(
      commands([{ command: "echo ok", cwd: null, env: null }], {
        source_id: null,
        secrets_to_redact: null,
        artifacts_dirs: null,
        artifacts_dir: null,
        artifacts_ignore_content: null,
        pre_execution_downloadables: null,
      }),
    );
    const { terminal: second } = await client.untilTerminal();
    assert.deepEqual(second, {
      message_type: "command_execution_result_message",
      results: [{ command: "echo ok", exit_code: 0, stdout: "ok\n" }],
    });
    await client.close();
  });

  test("structured output reaches the handler as outputFormat and comes back as structured_output", async () => {
    const format = { type: "json_schema", schema: { type: "object", properties: { a: { type: "string" } } } };
    const { terminal, client } = await request(
      invocation({ user_prompt: "structured", output_format_json_schema_str: JSON.stringify(format) }),
    );
    assert.deepEqual(terminal, {
      message_type: "result_message",
      metadata: { n: 1 },
      data: { type: "structured_output", structured_output: { format } },
    });
    await client.close();
  });

  test("bad frames each get one error_message naming the problem and the connection then serves a request", async () => {
    const client = await RawClient.connect(server.url);
    const cases: Array<[unknown, RegExp, string]> = [
      ["{not json", /not valid JSON/, "invalid_json"],
      ["[1,2]", /JSON object, received array/, "not_an_object"],
      ["42", /JSON object, received number/, "not_an_object"],
      [{ message_type: "bogus_message" }, /unknown client message type "bogus_message"/, "unknown_message_type"],
      [{ user_prompt: "x" }, /message_type: required/, "unknown_message_type"],
      [invocation({ model: 7 }), /invocation_message: model: expected string, received number/, "invalid_field"],
      [commands([{ command: ["ls"] }]), /commands\[0\]\.command: expected string, received array/, "invalid_field"],
      [invocation({ secrets_to_redact: "abc" }), /secrets_to_redact: expected array/, "invalid_field"],
      [invocation({ secrets_to_redact: [1] }), /secrets_to_redact\[0\]: expected string/, "invalid_field"],
      [
        invocation({ output_format_json_schema_str: "{" }),
        /output_format_json_schema_str: expected a JSON text/,
        "invalid_field",
      ],
    ];
    for (const [frame, pattern, code] of cases) {
      client.send(frame);
      const reply = await client.next();
      assert.equal(reply.message_type, "error_message");
      assert.match(String(reply.error), pattern);
      assert.equal((reply.metadata as { code: string }).code, code);
    }
    client.ws.send(Buffer.from([1, 2, 3]), { binary: true });
    const binary = await client.next();
    assert.equal((binary.metadata as { code: string }).code, "binary_frame");
    client.send(invocation({ user_prompt: "after garbage" }));
    const { terminal } = await client.untilTerminal();
    assert.deepEqual(terminal.data, { type: "text", text: "after garbage" });
    assert.deepEqual(await client.drain(50), []);
    await client.close();
  });

  test("text the operating system cannot take is refused with invalid_field naming it, before anything runs", async () => {
    const dir = await mkdtemp(join(tmpdir(), "ru-os-text-"));
    const marker = join(dir, "ran");
    const client = await RawClient.connect(server.url);
    const touch = { command: `touch ${marker}` };
    const cases: Array<[unknown, string, RegExp]> = [
      [commands([touch, { command: "echo a\u0000b" }]), "commands[1].command", /NUL character/],
      [commands([touch, { command: "ls", cwd: `${dir}/a\u0000b` }]), "commands[1].cwd", /NUL character/],
      [commands([{ ...touch, env: { "A=B": "1" } }]), 'commands[0].env["A=B"]', /must not contain '='/],
      [
        invocation({ pre_agent_invocation_commands: [touch], agent_env: { TOKEN: "a\u0000b" } }),
        "agent_env.TOKEN",
        /NUL character/,
      ],
      [
        invocation({ pre_agent_invocation_commands: [touch], artifacts_dirs: [`${dir}/a\u0000b`] }),
        "artifacts_dirs[0]",
        /NUL character/,
      ],
    ];
    try {
      for (const [frame, field, problem] of cases) {
        client.send(frame);
        const reply = await client.next();
        assert.equal(reply.message_type, "error_message");
        const metadata = reply.metadata as { code: string; field: string };
        assert.equal(metadata.code, "invalid_field");
        assert.equal(metadata.field, field);
        assert.match(String(reply.error), problem);
      }
      await assert.rejects(readFile(marker), { code: "ENOENT" }, "a refused request ran a command");
      client.send(commands([touch]));
      const { terminal } = await client.untilTerminal();
      assert.equal(terminal.message_type, "command_execution_result_message");
      await readFile(marker);
    } finally {
      await client.close();
      await rm(dir, { recursive: true, force: true });
    }
  });

  test("a request while one is in flight is refused and the running one finishes normally", async () => {
    const client = await RawClient.connect(server.url);
    client.send(invocation({ user_prompt: "slow" }));
    client.send(invocation({ user_prompt: "intruder" }));
    const refusal = await client.next();
    assert.equal(refusal.message_type, "error_message");
    assert.equal((refusal.metadata as { code: string }).code, "request_in_flight");
    const { terminal } = await client.untilTerminal();
    assert.deepEqual(terminal.data, { type: "text", text: "slow done" });
    await client.close();
  });

  test("cancel mid-handler gives `Request cancelled`, fires the signal, and nothing of the request follows", async () => {
    const client = await RawClient.connect(server.url);
    const before = signals.length;
    client.send(invocation({ user_prompt: "wait" }));
    await waitFor(() => signals.length > before, 20_000, "handler to start");
    client.send({ message_type: "cancel_message" });
    const { terminal } = await client.untilTerminal();
    assert.deepEqual(terminal, {
      message_type: "error_message",
      error: "Request cancelled",
      metadata: { code: "cancelled" },
    });
    assert.equal(signals.at(-1)?.aborted, true);
    const rest = (await client.drain(200)).filter((f) => f.message_type !== "heartbeat_message");
    assert.deepEqual(rest, [], "the handler's later assistant message and result are dropped");
    client.send(invocation({ user_prompt: "next" }));
    const next = await client.untilTerminal();
    assert.deepEqual(next.terminal.data, { type: "text", text: "next" });
    await client.close();
  });

  test("a disconnect mid-handler fires the handler's signal", async () => {
    const client = await RawClient.connect(server.url);
    const before = signals.length;
    client.send(invocation({ user_prompt: "wait" }));
    await waitFor(() => signals.length > before, 20_000, "handler to start");
    const signal = signals.at(-1) as AbortSignal;
    assert.equal(signal.aborted, false);
    client.ws.terminate();
    await waitFor(() => signal.aborted, 20_000, "signal to fire");
  });

  test("sendErrorMessage then throw gives exactly one error_message", async () => {
    const { frames, client } = await request(invocation({ user_prompt: "error-then-throw" }));
    assert.deepEqual(frames, [
      { message_type: "error_message", error: "handler gave up", metadata: { code: "handler_error", step: 3 } },
    ]);
    assert.deepEqual(
      (await client.drain(200)).filter((f) => f.message_type !== "heartbeat_message"),
      [],
    );
    await client.close();
  });

  test("a throwing handler and an invalid result each give one error_message", async () => {
    const thrown = await request(invocation({ user_prompt: "throw" }));
    assert.deepEqual(thrown.terminal, {
      message_type: "error_message",
      error: "handler exploded",
      metadata: { code: "handler_error" },
    });
    await thrown.client.close();
    const bad = await request(invocation({ user_prompt: "bad-result" }));
    assert.equal((bad.terminal.metadata as { code: string }).code, "invalid_result");
    await bad.client.close();
  });

  test("pre- and post-commands run around the handler with cwd and env, output streamed", async () => {
    const dir = await mkdtemp(join(tmpdir(), "ru-cwd-"));
    const cwd = join(dir, "made", "by", "runtime");
    const { frames, terminal, client } = await request(
      invocation({
        user_prompt: "x",
        pre_agent_invocation_commands: [{ command: "pwd; echo $GREETING >&2", cwd, env: { GREETING: "hey" } }],
        post_agent_invocation_commands: [{ command: "echo post > post.txt", cwd }],
      }),
    );
    assert.deepEqual(frames.slice(0, 2), [
      {
        message_type: "command_output_message",
        stream: "stdout",
        text: `${cwd}\n`,
        command: "pwd; echo $GREETING >&2",
      },
      { message_type: "command_output_message", stream: "stderr", text: "hey\n", command: "pwd; echo $GREETING >&2" },
    ]);
    assert.equal(terminal.message_type, "result_message");
    assert.equal(await readFile(join(cwd, "post.txt"), "utf8"), "post\n");
    await client.close();
    await rm(dir, { recursive: true, force: true });
  });

  test("a failing pre-command ends the request with its exit code and the handler is not called", async () => {
    const { frames, client } = await request(
      invocation({
        user_prompt: "x",
        pre_agent_invocation_commands: [{ command: "exit 4" }, { command: "echo never" }],
      }),
    );
    assert.deepEqual(frames, [
      {
        message_type: "error_message",
        error: "pre-agent command failed with exit code: 4",
        metadata: { code: "command_failed", command: "exit 4", exit_code: 4 },
      },
    ]);
    await client.close();
    const post = await request(
      invocation({ user_prompt: "x", post_agent_invocation_commands: [{ command: "exit 5" }] }),
    );
    assert.equal(post.terminal.error, "post-agent command failed with exit code: 5");
    await post.client.close();
  });

  test("command execution stops at the first failure and lists the commands that ran", async () => {
    const { terminal, client } = await request(commands(["echo one", "echo two; exit 3", "echo three"]));
    assert.deepEqual(terminal, {
      message_type: "command_execution_result_message",
      results: [
        { command: "echo one", exit_code: 0, stdout: "one\n" },
        { command: "echo two; exit 3", exit_code: 3, stdout: "two\n" },
      ],
    });
    await client.close();
  });

  test("secrets are redacted from command output, assistant text, result and error", async () => {
    const secret = "sk-live-1234";
    const { frames, client } = await request(
      invocation({
        user_prompt: `my key is ${secret}`,
        secrets_to_redact: [secret],
        pre_agent_invocation_commands: [{ command: `echo ${secret}` }],
      }),
    );
    assert.equal(JSON.stringify(frames).includes(secret), false);
    assert.equal(JSON.stringify(frames).includes("[REDACTED]"), true);
    client.send(invocation({ user_prompt: "x", pre_agent_invocation_commands: [{ command: `exit 9 # ${secret}` }] }));
    const failed = await client.untilTerminal();
    assert.equal(JSON.stringify(failed.frames).includes(secret), false);
    assert.equal(server.logs.join("\n").includes(secret), false);
    await client.close();
  });

  test("pre_agent_downloadables are fetched into working_dir; an HTTP 404 names the status", async () => {
    const files = createServer((req, res) => {
      if (req.url === "/files/data%20file.txt") res.end("downloaded bytes");
      else {
        res.statusCode = 404;
        res.end("nope");
      }
    });
    await new Promise<void>((resolve) => files.listen(0, "127.0.0.1", resolve));
    const port = (files.address() as { port: number }).port;
    const dir = await mkdtemp(join(tmpdir(), "ru-dl-"));
    const ok = await request(
      invocation({
        user_prompt: "x",
        pre_agent_downloadables: [{ download_url: `http://127.0.0.1:${port}/files/data%20file.txt`, working_dir: dir }],
        pre_agent_invocation_commands: [{ command: "cat 'data file.txt'", cwd: dir }],
      }),
    );
    assert.equal(ok.frames[0]?.text, "downloaded bytes");
    assert.equal(ok.terminal.message_type, "result_message");
    ok.client.send(
      commands(["echo never"], {
        pre_execution_downloadables: [
          { download_url: `http://127.0.0.1:${port}/missing.bin?X-Amz-Signature=abc`, working_dir: dir },
        ],
      }),
    );
    const missing = await ok.client.untilTerminal();
    assert.equal(missing.terminal.message_type, "error_message");
    assert.equal(missing.terminal.error, "Download failed: 404 Not Found");
    assert.deepEqual(missing.terminal.metadata, {
      code: "download_failed",
      reason: "http_status",
      status: 404,
      url: `http://127.0.0.1:${port}/missing.bin`,
    });
    await ok.client.close();
    files.close();
    await rm(dir, { recursive: true, force: true });
  });

  test("100 sequential requests on one connection each get their own terminal", async () => {
    const client = await RawClient.connect(server.url);
    for (let i = 0; i < 100; i++) {
      client.send(i % 2 === 0 ? invocation({ user_prompt: `n${i}` }) : commands([`echo n${i}`]));
      const { terminal } = await client.untilTerminal();
      if (i % 2 === 0) assert.deepEqual(terminal.data, { type: "text", text: `n${i}` });
      else assert.equal((terminal.results as Array<{ stdout: string }>)[0]?.stdout, `n${i}\n`);
    }
    await client.close();
  });

  test("a request's first heartbeat comes an interval after its own start, not the previous request's", async () => {
    const client = await RawClient.connect(server.url);
    client.send(commands(["sleep 0.03"]));
    await client.untilTerminal();
    client.send(commands(["sleep 0.4"]));
    const { frames } = await client.untilTerminal();
    const beats = frames.filter((f) => f.message_type === "heartbeat_message");
    assert.ok(beats.length >= 1, "the second request is beaten");
    assert.ok(
      (beats[0]?.elapsed_ms as number) >= 95,
      `first heartbeat at ${beats[0]?.elapsed_ms} ms into the request, before the 100 ms interval`,
    );
    await client.close();
  });

  test("heartbeats arrive at the configured interval with growing whole-number elapsed_ms", async () => {
    const client = await RawClient.connect(server.url);
    client.send(commands(["sleep 1"]));
    const { frames } = await client.untilTerminal();
    const beats = frames.filter((f) => f.message_type === "heartbeat_message");
    assert.ok(beats.length >= 3, `expected several heartbeats in 1 s at 100 ms, got ${beats.length}`);
    const elapsed = beats.map((b) => b.elapsed_ms as number);
    for (const value of elapsed) assert.ok(Number.isInteger(value));
    assert.deepEqual(
      [...elapsed].sort((a, b) => a - b),
      elapsed,
    );
    assert.equal(beats[0]?.phase, "commands");
    await client.close();
  });

  test("end_session_message is confirmed and the connection closes", async () => {
    const client = await RawClient.connect(server.url);
    client.send(commands(["true"]));
    await client.untilTerminal();
    client.send({ message_type: "end_session_message" });
    assert.deepEqual(await client.next(), { message_type: "end_session_confirm_message", artifacts: [] });
    assert.equal(await client.closed, 1000);
  });

  test("a request the HTTP parser refuses is answered with what was wrong, and the server serves on", async () => {
    const port = new URL(server.url).port;
    const exchange = (raw: string) =>
      new Promise<string>((resolve, reject) => {
        const socket = connect(Number(port), "127.0.0.1", () => socket.write(raw));
        let answer = "";
        socket.setEncoding("utf8");
        socket.on("data", (chunk: string) => {
          answer += chunk;
        });
        socket.on("close", () => resolve(answer));
        socket.on("error", reject);
      });
    const huge = await exchange(`GET /health HTTP/1.1\r\nhost: x\r\nx-token: ${"t".repeat(maxHeaderSize + 1)}\r\n\r\n`);
    assert.match(huge, /^HTTP\/1\.1 431 Request Header Fields Too Large\r\n/);
    assert.match(huge, new RegExp(`larger than the ${maxHeaderSize} bytes this server reads\n$`));
    const garbage = await exchange("HELLO THERE\r\n\r\n");
    assert.match(garbage, /^HTTP\/1\.1 400 Bad Request\r\n/);
    assert.match(garbage, /the request is not valid HTTP\/1\.1 \(HPE_\w+\)\n$/);
    const health = await fetch(`${server.url.replace("ws://", "http://")}/health`);
    assert.equal(health.status, 200);
  });

  test("plain HTTP requests get a clear 426", async () => {
    const response = await fetch(server.url.replace("ws://", "http://"));
    assert.equal(response.status, 426);
    assert.match(await response.text(), /WebSocket/);
  });
});

describe("RuntimeUseServer.stop", () => {
  test("in-flight requests get their terminal before the connection closes", async () => {
    const own = await startTestServer({ handler: scripted });
    const client = await RawClient.connect(own.url);
    const before = signals.length;
    client.send(invocation({ user_prompt: "wait" }));
    await waitFor(() => signals.length > before, 20_000, "handler to start");
    await own.close();
    const { terminal } = await client.untilTerminal();
    assert.equal(terminal.message_type, "error_message");
    assert.match(String(terminal.error), /^Request cancelled: the runtime is shutting down/);
    assert.equal(await client.closed, 1001);
  });

  test("many connections each run their own request at the same time", async () => {
    const clients = await Promise.all(Array.from({ length: 20 }, () => RawClient.connect(server.url)));
    clients.forEach((client, i) => {
      client.send(invocation({ user_prompt: i % 2 ? "slow" : `c${i}` }));
    });
    const terminals = await Promise.all(clients.map((client) => client.untilTerminal()));
    terminals.forEach(({ terminal }, i) => {
      assert.deepEqual(terminal.data, { type: "text", text: i % 2 ? "slow done" : `c${i}` });
    });
    await Promise.all(clients.map((client) => client.close()));
  });
});
