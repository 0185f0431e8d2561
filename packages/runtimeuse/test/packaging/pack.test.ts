import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL("../../../../", import.meta.url));

test("the packed runtime installs into an empty folder and `npx runtimeuse --help` runs there", async () => {
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
    const { stdout: files } = await run("tar", ["tzf", tarballs[1] as string]);
    assert.ok(files.includes("package/dist/index.js"), "the build output is packed");
    assert.ok(!files.includes("package/test/"), "tests are not packed");
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
