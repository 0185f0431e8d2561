import assert from "node:assert/strict";
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { before, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { packWorkspaces } from "../../runtimeuse/test/support/pack.js";
import { assertBuilt } from "./support/built.js";

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL("../../../", import.meta.url));
const EXAMPLE = new URL("../examples/quickstart.mts", import.meta.url);
const TSX = fileURLToPath(new URL("../../../node_modules/tsx", import.meta.url));
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

  test("the README embeds examples/quickstart.mts verbatim in a TypeScript block", async () => {
    const example = await readFile(EXAMPLE, "utf8");
    const readme = await readFile(new URL("../README.md", import.meta.url), "utf8");
    assert.ok(readme.includes("```ts\n" + example + "```\n"), "README.md must contain examples/quickstart.mts as is");
  });

  test("the quickstart type-checks against the published types", async () => {
    await run(process.execPath, [`${ROOT}node_modules/typescript/bin/tsc`, "-p", "packages/client/examples"], {
      cwd: ROOT,
      timeout: 120_000,
    });
  });

  test("in an empty folder with the packed client installed, the quickstart runs as the README says, against a real runtime", async () => {
    const dir = await mkdtemp(join(tmpdir(), "ru-client-pack-"));
    const { url, child } = await startCli();
    try {
      // The client depends on the protocol package, which is published beside it.
      const tarballs = await packWorkspaces(dir, ["packages/protocol", "packages/client"]);
      const app = join(dir, "app");
      await mkdir(app);
      // "npm install runtimeuse-client", from the tarballs; tsx from this repository, so that
      // `npx -y tsx` finds it installed instead of fetching it.
      await run(
        "npm",
        ["install", "--prefer-offline", "--no-audit", "--no-fund", "--ignore-scripts", ...tarballs, TSX],
        { cwd: app, timeout: 300_000 },
      );
      await writeFile(join(app, "quickstart.mts"), await readFile(EXAMPLE, "utf8"));
      const readme = await readFile(new URL("../README.md", import.meta.url), "utf8");
      const command = /\nRUNTIMEUSE_URL=ws:\/\/127\.0\.0\.1:8080 (npx -y tsx quickstart\.mts)\n/.exec(readme)?.[1];
      assert.ok(command, "the README gives the command that runs the quickstart");
      const [npx, ...args] = command.split(" ") as [string, ...string[]];
      const { stdout } = await run(npx, args, {
        cwd: app,
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
      // The explicit Node.js entry keeps working from the installed package.
      const node = await run(
        process.execPath,
        [
          "--input-type=module",
          "-e",
          'const m = await import("runtimeuse-client/node"); console.log(typeof m.NodeWebSocketTransport)',
        ],
        { cwd: app },
      );
      assert.equal(node.stdout.trim(), "function");
    } finally {
      child.kill("SIGTERM");
      await rm(dir, { recursive: true, force: true });
    }
  });
});
