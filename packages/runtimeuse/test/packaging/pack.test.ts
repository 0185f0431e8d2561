import assert from "node:assert/strict";
import { execFile, spawn } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL("../../../../", import.meta.url));

// Its own limit: `npm install` from the registry alone may take minutes on a busy machine.
test("the packed runtime installs into an empty folder and `npx runtimeuse --help` runs there", {
  timeout: 330_000,
}, async () => {
  const dir = await mkdtemp(join(tmpdir(), "ru-pack-"));
  try {
    // The runtime depends on the protocol package, which is published beside it.
    const tarballs: string[] = [];
    for (const workspace of ["packages/protocol", "packages/runtimeuse"]) {
      const { stdout } = await run("npm", ["pack", "--silent", "--pack-destination", dir, "-w", workspace], {
        cwd: ROOT,
      });
      tarballs.push(join(dir, stdout.trim().split("\n").at(-1) as string));
    }
    const app = join(dir, "app");
    await run("mkdir", ["-p", app]);
    await writeFile(join(app, "package.json"), JSON.stringify({ name: "sandbox-app", private: true }));
    await run("npm", ["install", "--no-audit", "--no-fund", "--ignore-scripts", ...tarballs], {
      cwd: app,
      timeout: 300_000,
    });
    const help = await run("npx", ["--no-install", "runtimeuse", "--help"], { cwd: app });
    assert.match(help.stdout, /Usage: runtimeuse/);
    const version = await run("npx", ["--no-install", "runtimeuse", "--version"], { cwd: app });
    assert.match(version.stdout, /^\d+\.\d+\.\d+/);
    // The bundled CLI must find its lazily loaded chunks and its external dependencies once installed.
    const listening = await firstStdoutLine(
      join(app, "node_modules/.bin/runtimeuse"),
      ["--agent", "echo", "--port", "0", "--host", "127.0.0.1"],
      app,
    );
    assert.match(listening, /^runtimeuse listening on ws:\/\/127\.0\.0\.1:\d+$/);
    const { stdout: files } = await run("tar", ["tzf", tarballs[1] as string]);
    assert.ok(files.includes("package/dist/index.js"), "the build output is packed");
    assert.ok(files.includes("package/dist/bundle/cli.js"), "the bundled CLI is packed");
    assert.ok(!files.includes("package/test/"), "tests are not packed");
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

/** Runs `command` until it prints its first stdout line (at most 60 s), then stops it. */
async function firstStdoutLine(command: string, args: string[], cwd: string): Promise<string> {
  const child = spawn(command, args, { cwd, stdio: ["ignore", "pipe", "pipe"] });
  let stderr = "";
  child.stderr.on("data", (chunk) => {
    stderr = (stderr + chunk).slice(-4096);
  });
  try {
    return await new Promise<string>((resolve, reject) => {
      let out = "";
      const timer = setTimeout(() => reject(new Error(`no line on stdout within 60 s; stderr: ${stderr}`)), 60_000);
      child.stdout.on("data", (chunk) => {
        out += chunk;
        const end = out.indexOf("\n");
        if (end >= 0) {
          clearTimeout(timer);
          resolve(out.slice(0, end));
        }
      });
      child.once("exit", (code) => {
        clearTimeout(timer);
        reject(new Error(`exited with code ${code} before printing a line; stderr: ${stderr}`));
      });
    });
  } finally {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((resolve) => child.once("exit", resolve));
      child.kill("SIGTERM");
      await exited;
    }
  }
}
