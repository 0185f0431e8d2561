import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { InvalidOptionsError, type QueryOptions, RuntimeUseClient } from "../src/node.js";
import { Q } from "./support/runtime.js";
import { expectFrame, startScriptedServer } from "./support/scripted-server.js";

/** Runs `call` against a server that records the first request frame and answers it. */
async function captureRequest(call: (client: RuntimeUseClient) => Promise<unknown>): Promise<Record<string, unknown>> {
  let captured: Record<string, unknown> | undefined;
  const server = await startScriptedServer(async (peer) => {
    captured = await peer.next();
    peer.send(
      captured.message_type === "invocation_message"
        ? { message_type: "result_message", metadata: {}, data: { type: "text", text: "ok" } }
        : { message_type: "command_execution_result_message", results: [] },
    );
  });
  try {
    await call(new RuntimeUseClient({ url: server.url }));
  } finally {
    await server.close();
  }
  assert.ok(captured, "the request reached the server");
  return captured;
}

describe("options on the wire", () => {
  test("every query option is sent under its wire name", async () => {
    const frame = await captureRequest((client) =>
      client.query("the prompt", {
        systemPrompt: "sys",
        model: "m-1",
        outputSchema: { type: "object", properties: { a: { type: "string" } } },
        sourceId: "src-9",
        agentEnv: { A: "1" },
        secretsToRedact: ["s3cret"],
        artifactsDirs: ["/a", "/b"],
        artifactsIgnoreContent: "*.log",
        preAgentDownloadables: [{ downloadUrl: "http://127.0.0.1:1/x.zip", workingDir: "/w" }],
        preAgentInvocationCommands: [{ command: "pre", cwd: "/c", env: { E: "e" } }],
        postAgentInvocationCommands: [{ command: "post" }],
        conversationId: "c-1",
        onArtifactUploadRequest: () => ({ presignedUrl: "u", contentType: "t" }),
        agent: "codex",
      }),
    );
    assert.deepEqual(frame, {
      message_type: "invocation_message",
      source_id: "src-9",
      system_prompt: "sys",
      user_prompt: "the prompt",
      model: "m-1",
      agent_env: { A: "1" },
      agent: "codex",
      secrets_to_redact: ["s3cret"],
      output_format_json_schema_str: JSON.stringify({
        type: "json_schema",
        schema: { type: "object", properties: { a: { type: "string" } } },
      }),
      artifacts_dirs: ["/a", "/b"],
      artifacts_ignore_content: "*.log",
      pre_agent_downloadables: [{ download_url: "http://127.0.0.1:1/x.zip", working_dir: "/w" }],
      pre_agent_invocation_commands: [{ command: "pre", cwd: "/c", env: { E: "e" } }],
      post_agent_invocation_commands: [{ command: "post" }],
      conversation_id: "c-1",
    });
  });

  test("every executeCommands option is sent under its wire name", async () => {
    const frame = await captureRequest((client) =>
      client.executeCommands(
        [
          { command: "one", cwd: "/tmp" },
          { command: "two", env: { X: "y" } },
        ],
        {
          sourceId: "batch",
          secretsToRedact: ["k"],
          artifactsDirs: ["/out"],
          artifactsIgnoreContent: "tmp/",
          preExecutionDownloadables: [{ downloadUrl: "http://127.0.0.1:1/f", workingDir: "/in" }],
          onArtifactUploadRequest: () => ({ presignedUrl: "u", contentType: "t" }),
        },
      ),
    );
    assert.deepEqual(frame, {
      message_type: "command_execution_message",
      source_id: "batch",
      secrets_to_redact: ["k"],
      commands: [
        { command: "one", cwd: "/tmp" },
        { command: "two", env: { X: "y" } },
      ],
      artifacts_dirs: ["/out"],
      artifacts_ignore_content: "tmp/",
      pre_execution_downloadables: [{ download_url: "http://127.0.0.1:1/f", working_dir: "/in" }],
    });
  });

  test("unset options are left out; secrets_to_redact is always a list; an empty artifactsDirs is not sent", async () => {
    const frame = await captureRequest((client) => client.query("p", { ...Q, artifactsDirs: [] }));
    assert.deepEqual(frame, {
      message_type: "invocation_message",
      system_prompt: Q.systemPrompt,
      user_prompt: "p",
      model: Q.model,
      secrets_to_redact: [],
    });
  });
});

describe("invalid options", () => {
  const cases: Array<[string, (client: RuntimeUseClient) => Promise<unknown>, string]> = [
    [
      "a prompt that is not a string",
      (c) => c.query(42 as never, Q),
      "query options: prompt: expected string, received number",
    ],
    [
      "a missing model",
      (c) => c.query("p", { systemPrompt: "s" } as QueryOptions),
      "query options: model: required, expected string",
    ],
    [
      "a command whose cwd is not a string",
      (c) => c.executeCommands([{ command: "a" }, { command: "b", cwd: 5 as never }]),
      "executeCommands: commands[1].cwd: expected string, received number",
    ],
    [
      "a downloadable without its URL",
      (c) => c.query("p", { ...Q, preAgentDownloadables: [{ workingDir: "/w" } as never] }),
      "query options: preAgentDownloadables[0].downloadUrl: required, expected string",
    ],
    [
      "an agentEnv value that is not a string",
      (c) => c.query("p", { ...Q, agentEnv: { PORT: 80 as never } }),
      "query options: agentEnv.PORT: expected string, received number",
    ],
    [
      "a command with a NUL character",
      (c) => c.executeCommands([{ command: "echo a\u0000b" }]),
      "executeCommands: commands[0].command: must not contain a NUL character (U+0000)",
    ],
    [
      "a model with a NUL character",
      (c) => c.query("p", { ...Q, model: "claude-x\u0000--debug" }),
      "query options: model: must not contain a NUL character (U+0000)",
    ],
    [
      "an agentEnv name with '='",
      (c) => c.query("p", { ...Q, agentEnv: { "A=B": "1" } }),
      `query options: agentEnv["A=B"]: an environment variable name must be non-empty and must not contain '='`,
    ],
    [
      "an environment name that reads like a wire field, with '='",
      (c) => c.executeCommands([{ command: "env", env: { "working_dir=x": "1" } }]),
      `executeCommands: commands[0].env["working_dir=x"]: an environment variable name must be non-empty and must not contain '='`,
    ],
    [
      "an env value under a key spelled like a wire field",
      (c) => c.executeCommands([{ command: "env", env: { source_id: 1 as never } }]),
      "executeCommands: commands[0].env.source_id: expected string, received number",
    ],
    [
      "an agentEnv value under a key named like an Object method",
      (c) => c.query("p", { ...Q, agentEnv: { constructor: 1 as never } }),
      "query options: agentEnv.constructor: expected string, received number",
    ],
    [
      "an outputSchema that is not an object",
      (c) => c.query("p", { ...Q, outputSchema: [] as never }),
      'query options: outputSchema: expected a JSON Schema object, or {"type": "json_schema", "schema": {...}}, received array',
    ],
    [
      "a conversationId that could name a path",
      (c) => c.query("p", { ...Q, conversationId: "../c1" }),
      "query options: conversationId: expected a string of 1 to 128 characters of A-Z a-z 0-9 . _ -, starting with a letter or digit",
    ],
    [
      "commands that are not a list",
      (c) => c.executeCommands("ls" as never),
      "executeCommands: commands: expected an array of commands",
    ],
    [
      "artifactsDirs with no callback to answer the runtime",
      (c) => c.executeCommands([{ command: "a" }], { artifactsDirs: ["/out"] }),
      "artifactsDirs: needs an onArtifactUploadRequest callback (on the request, or on the session) to answer the runtime's upload requests",
    ],
    [
      "query options that are null",
      (c) => c.query("p", null as never),
      "query options: expected an object with at least systemPrompt and model",
    ],
    [
      "query options left out",
      (c) => (c.query as (prompt: string) => Promise<unknown>)("p"),
      "query options: expected an object with at least systemPrompt and model",
    ],
    [
      "executeCommands options that are null",
      (c) => c.executeCommands([{ command: "a" }], null as never),
      "executeCommands options: expected an object",
    ],
    [
      "a signal that is no AbortSignal",
      (c) => c.query("p", { ...Q, signal: "stop" as never }),
      "signal: expected an AbortSignal",
    ],
    [
      "a callback that is not a function",
      (c) => c.executeCommands([{ command: "a" }], { onCommandOutput: "print" as never }),
      "onCommandOutput: expected a function, received string",
    ],
  ];
  for (const [what, call, message] of cases) {
    test(`${what} is an InvalidOptionsError naming the option, and nothing is sent`, async () => {
      const server = await startScriptedServer();
      try {
        await assert.rejects(call(new RuntimeUseClient({ url: server.url })), (error: unknown) => {
          assert.ok(error instanceof InvalidOptionsError, String(error));
          assert.equal(error.message, message);
          return true;
        });
        const session = await new RuntimeUseClient({ url: server.url }).session();
        await assert.rejects(call(session as unknown as RuntimeUseClient), InvalidOptionsError);
        const peer = await server.peer(0);
        const closing = session.close();
        // The session's first frame is its end: the bad call sent nothing.
        await expectFrame(peer, "end_session_message");
        peer.send({ message_type: "end_session_confirm_message" });
        await closing;
        assert.equal(server.peers.length, 1, "only the session connected");
      } finally {
        await server.close();
      }
    });
  }

  test("bad client options are refused by the constructor with the option named", () => {
    const refuse = (options: unknown, message: RegExp) =>
      assert.throws(
        () => new RuntimeUseClient(options as never),
        (error: unknown) => {
          assert.ok(error instanceof InvalidOptionsError);
          assert.match(error.message, message);
          return true;
        },
      );
    refuse({ url: "http://127.0.0.1:1" }, /^url: expected a ws:\/\/ or wss:\/\/ URL, received http:\/\/$/);
    refuse({ url: "not a url" }, /^url: not a valid URL/);
    refuse({}, /^url: expected a ws:\/\/ or wss:\/\/ URL string$/);
    refuse({ url: "ws://h", token: "" }, /^token: expected a non-empty string$/);
    refuse({ url: "ws://h", headers: { "X-Team": 7 } }, /^headers\.X-Team: expected a string$/);
    refuse({ url: "ws://h", maxFrameBytes: 0 }, /^maxFrameBytes: expected a positive whole number/);
    refuse({ url: "ws://h", transport: {} }, /^transport: expected an object with a connect\(\) method$/);
  });
});
