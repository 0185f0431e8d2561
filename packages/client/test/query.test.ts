import assert from "node:assert/strict";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, test } from "node:test";
import { AgentRuntimeError, type HeartbeatEvent, RuntimeUseClient } from "../src/node.js";
import { aborted, Q, recordingHandler, startFileServer, withRuntime } from "./support/runtime.js";

describe("query against the real runtime", () => {
  test("sends prompt, systemPrompt, model, sourceId and agentEnv to the handler and resolves with its text and metadata", async () => {
    const { handler, invocations } = recordingHandler(async (invocation) => ({
      type: "text",
      text: `answer to ${invocation.userPrompt}`,
      metadata: { tokens: 7 },
    }));
    await withRuntime({ handler }, async ({ url }) => {
      const client = new RuntimeUseClient({ url });
      const result = await client.query("what is 2+2?", {
        systemPrompt: "be brief",
        model: "model-x",
        sourceId: "job-42",
        agentEnv: { TASK_ID: "42" },
      });
      // A handler that reports no usage: its metadata as it gave it, and no usage.
      assert.deepEqual(result, { data: { type: "text", text: "answer to what is 2+2?" }, metadata: { tokens: 7 } });
      const [invocation] = invocations;
      assert.equal(invocation?.userPrompt, "what is 2+2?");
      assert.equal(invocation?.systemPrompt, "be brief");
      assert.equal(invocation?.model, "model-x");
      assert.equal(invocation?.sourceId, "job-42");
      assert.deepEqual(invocation?.env, { TASK_ID: "42" });
      assert.equal(invocation?.outputFormat, undefined);
    });
  });

  test("outputSchema reaches the handler as a json_schema output format and the result is structuredOutput", async () => {
    const schema = { type: "object", properties: { answer: { type: "number" } }, required: ["answer"] };
    const { handler, invocations } = recordingHandler(async () => ({
      type: "structured_output",
      structuredOutput: { answer: 4 },
      // A handler's own usage becomes metadata.usage, and the client's typed usage.
      usage: { input_tokens: 12, output_tokens: 3, cache_read_tokens: 1, cache_write_tokens: 2, model_calls: 1 },
    }));
    await withRuntime({ handler }, async ({ url }) => {
      const result = await new RuntimeUseClient({ url }).query("2+2", { ...Q, outputSchema: schema });
      const usage = { input_tokens: 12, output_tokens: 3, cache_read_tokens: 1, cache_write_tokens: 2, model_calls: 1 };
      assert.deepEqual(result, {
        data: { type: "structured_output", structuredOutput: { answer: 4 } },
        metadata: { usage },
        usage,
      });
      assert.deepEqual(invocations[0]?.outputFormat, { type: "json_schema", schema });
    });
  });

  test("outputSchema may also be given in the wire's wrapper form; the handler sees the same output format", async () => {
    const schema = { type: "object", properties: { answer: { type: "number" } } };
    const { handler, invocations } = recordingHandler(async () => ({
      type: "structured_output",
      structuredOutput: { answer: 4 },
    }));
    await withRuntime({ handler }, async ({ url }) => {
      const client = new RuntimeUseClient({ url });
      await client.query("2+2", { ...Q, outputSchema: { type: "json_schema", schema } });
      await client.query("2+2", { ...Q, outputSchema: schema });
      assert.deepEqual(
        invocations.map((invocation) => invocation.outputFormat),
        [
          { type: "json_schema", schema },
          { type: "json_schema", schema },
        ],
      );
    });
  });

  test("onAssistantMessage receives every assistant message, in order, before the query resolves", async () => {
    const handler = recordingHandler(async (_invocation, sender) => {
      for (let i = 0; i < 20; i++) await sender.sendAssistantMessage([`block ${i}`, "second"]);
      return { type: "text", text: "done" };
    }).handler;
    await withRuntime({ handler }, async ({ url }) => {
      const seen: string[][] = [];
      const result = await new RuntimeUseClient({ url }).query("go", {
        ...Q,
        onAssistantMessage: async (event) => {
          assert.equal(event.type, "assistant_message");
          // An async callback is awaited before the next message is handled.
          await new Promise((resolve) => setImmediate(resolve));
          seen.push(event.textBlocks);
        },
      });
      assert.equal(result.data.type === "text" && result.data.text, "done");
      assert.deepEqual(
        seen,
        Array.from({ length: 20 }, (_, i) => [`block ${i}`, "second"]),
      );
    });
  });

  test("pre- and post-agent commands run around the handler and their output reaches onCommandOutput", async () => {
    const events: string[] = [];
    const handler = recordingHandler(async (_invocation, sender) => {
      await sender.sendAssistantMessage(["agent ran"]);
      return { type: "text", text: "ok" };
    }).handler;
    await withRuntime({ handler }, async ({ url }) => {
      await new RuntimeUseClient({ url }).query("go", {
        ...Q,
        preAgentInvocationCommands: [{ command: "echo pre-$WHO", env: { WHO: "one" } }, { command: "echo oops >&2" }],
        postAgentInvocationCommands: [{ command: "pwd", cwd: "/tmp" }],
        onAssistantMessage: (event) => {
          events.push(`assistant:${event.textBlocks.join()}`);
        },
        onCommandOutput: (event) => {
          events.push(`${event.stream}:${event.command}:${event.text.trim()}`);
        },
      });
      assert.deepEqual(events, [
        "stdout:echo pre-$WHO:pre-one",
        "stderr:echo oops >&2:oops",
        "assistant:agent ran",
        "stdout:pwd:/tmp",
      ]);
    });
  });

  test("secretsToRedact hides each secret in assistant messages, command output and the result", async () => {
    const handler = recordingHandler(async (invocation, sender) => {
      await sender.sendAssistantMessage([`key is ${invocation.env.KEY}`]);
      return { type: "text", text: `final ${invocation.env.KEY}` };
    }).handler;
    await withRuntime({ handler }, async ({ url }) => {
      const seen: string[] = [];
      const result = await new RuntimeUseClient({ url }).query("go", {
        ...Q,
        agentEnv: { KEY: "sk-very-secret" },
        secretsToRedact: ["sk-very-secret"],
        preAgentInvocationCommands: [{ command: "echo sk-very-secret" }],
        onAssistantMessage: (event) => {
          seen.push(...event.textBlocks);
        },
        onCommandOutput: (event) => {
          seen.push(event.text);
        },
      });
      assert.deepEqual(seen, ["[REDACTED]\n", "key is [REDACTED]"]);
      assert.deepEqual(result.data, { type: "text", text: "final [REDACTED]" });
    });
  });

  test("preAgentDownloadables are downloaded into their working dirs before the handler runs", async () => {
    const files = await startFileServer({ "/data/notes%20v1.txt": "downloaded body" });
    const dir = await mkdtemp(join(tmpdir(), "ru-client-dl-"));
    const handler = recordingHandler(async () => ({
      type: "text",
      text: await readFile(join(dir, "inbox", "notes v1.txt"), "utf8"),
    })).handler;
    try {
      await withRuntime({ handler }, async ({ url }) => {
        const result = await new RuntimeUseClient({ url }).query("read it", {
          ...Q,
          preAgentDownloadables: [{ downloadUrl: `${files.url}/data/notes%20v1.txt`, workingDir: join(dir, "inbox") }],
        });
        assert.deepEqual(result.data, { type: "text", text: "downloaded body" });
        assert.deepEqual(files.requests, ["/data/notes%20v1.txt"]);
      });
    } finally {
      await files.close();
      await rm(dir, { recursive: true, force: true });
    }
  });

  test("onHeartbeat receives the runtime's heartbeats with their phase and elapsed time while the agent works", async () => {
    const beats: HeartbeatEvent[] = [];
    let enough: () => void = () => {};
    const threeBeats = new Promise<void>((resolve) => {
      enough = resolve;
    });
    const handler = recordingHandler(async (invocation) => {
      await Promise.race([threeBeats, aborted(invocation.signal)]);
      return { type: "text", text: "ok" };
    }).handler;
    await withRuntime({ handler, heartbeatIntervalMs: 20 }, async ({ url }) => {
      await new RuntimeUseClient({ url }).query("wait", {
        ...Q,
        onHeartbeat: (event) => {
          beats.push(event);
          if (beats.length === 3) enough();
        },
      });
      assert.ok(beats.length >= 3);
      for (const beat of beats) {
        assert.equal(beat.type, "heartbeat");
        assert.equal(beat.phase, "agent");
        assert.ok(Number.isInteger(beat.elapsedMs) && beat.elapsedMs >= 0);
      }
    });
  });

  test("a handler that throws rejects the query with AgentRuntimeError carrying its message and code handler_error", async () => {
    const handler = recordingHandler(async () => {
      throw new Error("model unavailable");
    }).handler;
    await withRuntime({ handler }, async ({ url }) => {
      const error = await new RuntimeUseClient({ url }).query("go", Q).then(
        () => assert.fail("expected a rejection"),
        (e: unknown) => e,
      );
      assert.ok(error instanceof AgentRuntimeError);
      assert.equal(error.error, "model unavailable");
      assert.equal(error.message, "model unavailable");
      assert.equal(error.code, "handler_error");
      assert.equal(error.metadata.code, "handler_error");
    });
  });

  test("sendErrorMessage's metadata reaches AgentRuntimeError, and its own code wins", async () => {
    const handler = recordingHandler(async (_invocation, sender) => {
      sender.sendErrorMessage("quota exceeded", { code: "quota_exceeded", retry_after_s: 30 });
      return { type: "text", text: "never sent" };
    }).handler;
    await withRuntime({ handler }, async ({ url }) => {
      await assert.rejects(new RuntimeUseClient({ url }).query("go", Q), (error: unknown) => {
        assert.ok(error instanceof AgentRuntimeError);
        assert.equal(error.error, "quota exceeded");
        assert.equal(error.code, "quota_exceeded");
        assert.equal(error.metadata.retry_after_s, 30);
        return true;
      });
    });
  });

  test("a failing pre-agent command rejects with code command_failed and the handler never runs", async () => {
    const { handler, invocations } = recordingHandler();
    await withRuntime({ handler }, async ({ url }) => {
      await assert.rejects(
        new RuntimeUseClient({ url }).query("go", { ...Q, preAgentInvocationCommands: [{ command: "exit 7" }] }),
        (error: unknown) =>
          error instanceof AgentRuntimeError &&
          error.code === "command_failed" &&
          error.error === "pre-agent command failed with exit code: 7",
      );
      assert.equal(invocations.length, 0);
    });
  });
});
