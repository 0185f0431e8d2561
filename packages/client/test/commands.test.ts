import assert from "node:assert/strict";
import { mkdtemp, realpath, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, test } from "node:test";
import { AgentRuntimeError, type CommandOutputEvent, RuntimeUseClient } from "../src/node.js";
import { recordingHandler, startFileServer, withRuntime } from "./support/runtime.js";

describe("executeCommands against the real runtime", () => {
  test("runs commands in order with cwd and env, stops at the first non-zero exit, and never calls the agent", async () => {
    const { handler, invocations } = recordingHandler();
    const dir = await realpath(await mkdtemp(join(tmpdir(), "ru-client-cmd-")));
    try {
      await withRuntime({ handler }, async ({ url }) => {
        const result = await new RuntimeUseClient({ url }).executeCommands([
          { command: "pwd", cwd: join(dir, "made") },
          { command: 'echo "$GREETING"', env: { GREETING: "hello there" } },
          { command: "echo partial; exit 3" },
          { command: "echo never" },
        ]);
        assert.deepEqual(result, {
          results: [
            { command: "pwd", exitCode: 0, stdout: `${join(dir, "made")}\n` },
            { command: 'echo "$GREETING"', exitCode: 0, stdout: "hello there\n" },
            { command: "echo partial; exit 3", exitCode: 3, stdout: "partial\n" },
          ],
        });
        assert.equal(invocations.length, 0);
      });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  test("onCommandOutput streams stdout and stderr chunks tagged with the command, before the result", async () => {
    await withRuntime({ handler: recordingHandler().handler }, async ({ url }) => {
      const events: CommandOutputEvent[] = [];
      let resolved = false;
      const pending = new RuntimeUseClient({ url }).executeCommands(
        [{ command: "echo to-out; echo to-err >&2" }, { command: "printf 'a\\nb\\n'" }],
        {
          onCommandOutput: (event) => {
            assert.equal(resolved, false, "output arrives before the result");
            events.push(event);
          },
        },
      );
      await pending.then(() => {
        resolved = true;
      });
      const text = (stream: string, command: string) =>
        events
          .filter((e) => e.stream === stream && e.command === command)
          .map((e) => e.text)
          .join("");
      assert.equal(text("stdout", "echo to-out; echo to-err >&2"), "to-out\n");
      assert.equal(text("stderr", "echo to-out; echo to-err >&2"), "to-err\n");
      assert.equal(text("stdout", "printf 'a\\nb\\n'"), "a\nb\n");
      assert.ok(events.every((e) => e.type === "command_output"));
    });
  });

  test("secretsToRedact and sourceId apply to command executions", async () => {
    await withRuntime({ handler: recordingHandler().handler }, async ({ url, logs }) => {
      const streamed: string[] = [];
      const result = await new RuntimeUseClient({ url }).executeCommands([{ command: "echo token=abc123xyz" }], {
        secretsToRedact: ["abc123xyz"],
        sourceId: "nightly-build",
        onCommandOutput: (event) => {
          streamed.push(event.text);
        },
      });
      assert.deepEqual(streamed, ["token=[REDACTED]\n"]);
      assert.equal(result.results[0]?.stdout, "token=[REDACTED]\n");
      assert.ok(
        logs.some((line) => line.includes("source_id=nightly-build")),
        "the runtime logged the request under its source id",
      );
    });
  });

  test("preExecutionDownloadables are fetched before the commands; a 404 rejects with code download_failed", async () => {
    const files = await startFileServer({ "/script.sh": "echo from-script\n" });
    const dir = await mkdtemp(join(tmpdir(), "ru-client-dl-"));
    try {
      await withRuntime({ handler: recordingHandler().handler }, async ({ url }) => {
        const client = new RuntimeUseClient({ url });
        const result = await client.executeCommands([{ command: "sh script.sh", cwd: dir }], {
          preExecutionDownloadables: [{ downloadUrl: `${files.url}/script.sh`, workingDir: dir }],
        });
        assert.deepEqual(result.results, [{ command: "sh script.sh", exitCode: 0, stdout: "from-script\n" }]);

        const error = await client
          .executeCommands([{ command: "true" }], {
            preExecutionDownloadables: [{ downloadUrl: `${files.url}/missing.bin`, workingDir: dir }],
          })
          .then(
            () => assert.fail("expected a rejection"),
            (e: unknown) => e,
          );
        assert.ok(error instanceof AgentRuntimeError);
        assert.equal(error.code, "download_failed");
        assert.match(error.error, /404/);
      });
    } finally {
      await files.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
