import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { cp, mkdtemp, readdir, rm } from "node:fs/promises";
import { get } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { WebSocket } from "ws";
import { expectRefused } from "../security/support.js";
import { invocation, waitFor } from "../support/client.js";

// The CLI listens before it loads the session code (and the protocol's schemas
// with it): see RuntimeUseServer.startListening. These tests start the built
// bundle and talk to it the moment it says it listens.

const PACKAGE = fileURLToPath(new URL("../../", import.meta.url));

interface Started {
  child: ChildProcess;
  url: string;
  stderr: () => string;
}

function startBin(bin: string, args: string[]): Promise<Started> {
  const child = spawn(process.execPath, [bin, "--port", "0", "--host", "127.0.0.1", ...args], {
    stdio: ["ignore", "pipe", "pipe"],
    env: { PATH: process.env.PATH, HOME: process.env.HOME },
  });
  let err = "";
  child.stderr?.on("data", (d) => {
    err += d;
  });
  return new Promise((resolve, reject) => {
    let out = "";
    child.stdout?.on("data", (d) => {
      out += d;
      const match = /runtimeuse listening on (ws:\/\/\S+)/.exec(out);
      if (match?.[1]) resolve({ child, url: match[1], stderr: () => err });
    });
    child.once("exit", (code) => reject(new Error(`exited with ${code}: ${err}`)));
  });
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once("exit", resolve));
  child.kill("SIGTERM");
  await exited;
}

function health(url: string): Promise<{ status: number; body: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    get(`${url.replace("ws://", "http://")}/health`, (response) => {
      let body = "";
      response.setEncoding("utf8");
      response.on("data", (chunk: string) => {
        body += chunk;
      });
      response.on("end", () => resolve({ status: response.statusCode ?? 0, body: JSON.parse(body) }));
    }).once("error", reject);
  });
}

describe("start-up of the built CLI", () => {
  test("a request sent the moment the CLI says it listens is answered, and /health is ok at once", async () => {
    const { child, url } = await startBin(join(PACKAGE, "bin", "runtimeuse.js"), ["--agent", "echo"]);
    try {
      // Sent in the same tick as the connection opens: the session code may still be loading.
      const ws = new WebSocket(url);
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
      const report = await health(url);
      assert.equal(report.status, 200);
      assert.equal(report.body.status, "ok");
      await done;
      const terminal = frames.at(-1);
      assert.equal(terminal?.message_type, "result_message", JSON.stringify(frames));
      assert.deepEqual(terminal?.data, { type: "text", text: "first" });
      ws.close();
    } finally {
      await stop(child);
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

      const { child, url, stderr } = await startBin(join(dir, "bin", "runtimeuse.js"), ["--agent", "echo"]);
      try {
        const refused = await expectRefused(url);
        assert.equal(refused.status, 503);
        assert.match(refused.body, /could not load its session code/);
        await waitFor(() => stderr().includes("the session code could not be loaded"), 10_000, "the log line");
        assert.match(
          stderr(),
          /ERROR +the session code could not be loaded: every connection is refused error=.*session-/,
        );
        assert.match(stderr(), /WARN +upgrade refused status=503 reason=unavailable/);
        const report = await health(url);
        assert.equal(report.status, 503);
        assert.equal(report.body.status, "unavailable");
        assert.equal(child.exitCode, null, "the runtime keeps running (and answering /health)");
      } finally {
        await stop(child);
      }
    });
  });
});
