import assert from "node:assert/strict";
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { readFile } from "node:fs/promises";
import { before, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { assertBuilt } from "./support/built.js";

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL("../../../", import.meta.url));
const EXAMPLE = new URL("../examples/quickstart.ts", import.meta.url);
const CLI = fileURLToPath(new URL("../../runtimeuse/bin/runtimeuse.js", import.meta.url));

/** Starts the real CLI with the echo agent on a free port; resolves once it prints its URL. */
async function startCli(): Promise<{ url: string; child: ChildProcess }> {
  const child = spawn(process.execPath, [CLI, "--port", "0", "--host", "127.0.0.1", "--agent", "echo"], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stderr = "";
  child.stderr?.on("data", (chunk) => {
    stderr += chunk;
  });
  const url = await new Promise<string>((resolve, reject) => {
    let stdout = "";
    const timer = setTimeout(() => reject(new Error(`the runtime did not start: ${stderr}`)), 30_000);
    child.stdout?.on("data", (chunk) => {
      stdout += chunk;
      const match = /^runtimeuse listening on (ws:\/\/\S+)\n/.exec(stdout);
      if (match?.[1]) {
        clearTimeout(timer);
        resolve(match[1]);
      }
    });
    child.once("exit", (code) => reject(new Error(`the runtime exited with ${code}: ${stderr}`)));
  });
  return { url, child };
}

describe("the README quickstart", () => {
  before(assertBuilt);

  test("the README embeds examples/quickstart.ts verbatim in a TypeScript block", async () => {
    const example = await readFile(EXAMPLE, "utf8");
    const readme = await readFile(new URL("../README.md", import.meta.url), "utf8");
    assert.ok(readme.includes("```ts\n" + example + "```\n"), "README.md must contain examples/quickstart.ts as is");
  });

  test("the quickstart type-checks against the published types", async () => {
    await run(process.execPath, [`${ROOT}node_modules/typescript/bin/tsc`, "-p", "packages/client/examples"], {
      cwd: ROOT,
      timeout: 120_000,
    });
  });

  test("the quickstart runs to completion against a real runtime started by the CLI", async () => {
    const { url, child } = await startCli();
    try {
      const { stdout } = await run(process.execPath, ["--import", "tsx", fileURLToPath(EXAMPLE)], {
        cwd: ROOT,
        env: { ...process.env, RUNTIMEUSE_URL: url },
        timeout: 60_000,
      });
      assert.deepEqual(stdout.trimEnd().split("\n"), [
        "agent: Say hello.",
        "answer: Say hello.",
        "[stdout] compiling",
        "[stderr] done",
        "exit codes: 0, 0",
        "verdict: approve",
        "streamed: Stream this.",
        "streamed result: Stream this.",
        "runtime error: command_failed: pre-agent command failed with exit code: 3",
        "cancelled: Command execution was cancelled",
        "timed out: timeout after 200 ms",
        "artifacts uploaded: 0",
      ]);
    } finally {
      child.kill("SIGTERM");
    }
  });
});
