import assert from "node:assert/strict";
import { cp, mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { WebSocket } from "ws";
import { type CliChild, expectRefused, startCli } from "../security/support.js";
import { invocation, waitFor } from "../support/client.js";

// The CLI listens before it loads the session code (and the protocol's schemas
// with it): see RuntimeUseServer.startListening. These tests start the built
// bundle and talk to it the moment it says it listens.

const PACKAGE = fileURLToPath(new URL("../../", import.meta.url));

async function stop(cli: CliChild): Promise<void> {
  cli.child.kill("SIGTERM");
  await cli.exited;
}

async function health(url: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(`${url.replace(/^ws:/, "http:")}/health`);
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

describe("start-up of the built CLI", () => {
  test("a request sent the moment the CLI says it listens is answered, and /health is ok at once", async () => {
    const cli = await startCli(["--agent", "echo"]);
    try {
      // Sent in the same tick as the connection opens: the session code may still be loading.
      const ws = new WebSocket(cli.url);
      const frames: Array<Record<string, unknown>> = [];
      const done = new Promise<void>((resolve, reject) => {
        ws.on("message", (data) => {
          const frame = JSON.parse(String(data)) as Record<string, unknown>;
          frames.push(frame);
          if (frame.message_type === "result_message" || frame.message_type === "error_message") resolve();
        });
        ws.once("error", reject);
      });
      ws.once("open", () => ws.send(JSON.stringify(invocation({ user_prompt: "first" }))));
      const report = await health(cli.url);
      assert.equal(report.status, 200);
      assert.equal(report.body.status, "ok");
      await done;
      const terminal = frames.at(-1);
      assert.equal(terminal?.message_type, "result_message", JSON.stringify(frames));
      assert.deepEqual(terminal?.data, { type: "text", text: "first" });
      ws.close();
    } finally {
      await stop(cli);
    }
  });

  describe("when the session code cannot be loaded", () => {
    let dir = "";
    after(async () => {
      if (dir) await rm(dir, { recursive: true, force: true });
    });

    test("the runtime still listens, says why in its log, refuses upgrades with 503 and /health says unavailable", async () => {
      // A damaged install: the package copied without the bundle's session chunk.
      dir = await mkdtemp(join(tmpdir(), "runtimeuse-startup-"));
      for (const part of ["bin", "dist", "package.json"])
        await cp(join(PACKAGE, part), join(dir, part), { recursive: true });
      const bundle = join(dir, "dist", "bundle");
      const sessionChunk = (await readdir(bundle)).find((name) => /^session-[A-Z0-9]+\.js$/.test(name));
      assert.ok(sessionChunk, "the bundle has a session chunk");
      await rm(join(bundle, sessionChunk));

      const cli = await startCli(["--agent", "echo"], {}, undefined, join(dir, "bin", "runtimeuse.js"));
      try {
        const refused = await expectRefused(cli.url);
        assert.equal(refused.status, 503);
        assert.match(refused.body, /could not load its session code/);
        await waitFor(() => cli.stderr().includes("the session code could not be loaded"), 10_000, "the log line");
        assert.match(
          cli.stderr(),
          /ERROR +the session code could not be loaded: every connection is refused error=.*session-/,
        );
        assert.match(cli.stderr(), /WARN +upgrade refused status=503 reason=unavailable/);
        const report = await health(cli.url);
        assert.equal(report.status, 503);
        assert.equal(report.body.status, "unavailable");
        assert.equal(cli.child.exitCode, null, "the runtime keeps running (and answering /health)");
      } finally {
        await stop(cli);
      }
    });
  });
});
