import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, test } from "node:test";
import { promisify } from "node:util";
import { AGENT_PACKAGES } from "../../src/handlers/agent-packages.js";
import { builtRelease, ROOT } from "./support/release.js";

const run = promisify(execFile);

async function tarEntries(tarball: string): Promise<string[]> {
  const { stdout } = await run("tar", ["tzf", tarball], { maxBuffer: 16 * 1024 * 1024 });
  return stdout.split("\n").filter(Boolean);
}

async function tarJson(tarball: string, entry: string): Promise<Record<string, unknown>> {
  const { stdout } = await run("tar", ["xzOf", tarball, entry]);
  return JSON.parse(stdout) as Record<string, unknown>;
}

/**
 * Built files under package/dist/ whose source no longer exists: `packageDir`/src
 * for the package's own, packages/protocol/src for dist/protocol/ (the bundle aside).
 */
function withoutSource(entries: string[], packageDir: string): string[] {
  return entries
    .filter((entry) => /^package\/dist\/(?!bundle\/).+\.(js|d\.ts)$/.test(entry))
    .filter((entry) => {
      const built = entry.replace(/^package\/dist\//, "");
      const [dir, file] = built.startsWith("protocol/")
        ? ["packages/protocol", built.slice("protocol/".length)]
        : [packageDir, built];
      return !existsSync(join(ROOT, dir, "src", file.replace(/\.(js|d\.ts)$/, ".ts")));
    });
}

/** Packed .js and .d.ts files that still import the private protocol package by name. */
async function namingProtocol(tarball: string): Promise<string[]> {
  const { stdout } = await run("sh", [
    "-c",
    `tar xzOf "$1" --wildcards 'package/dist/*.js' 'package/dist/*.d.ts' | grep -c '@runtimeuse/protocol' || true`,
    "sh",
    tarball,
  ]);
  return stdout.trim() === "0" ? [] : [`${stdout.trim()} lines`];
}

describe("npm run release", () => {
  test("the runtime tarball carries its build, the bundled CLI and the protocol inlined, and no agent SDK, tests or sources", async () => {
    const { runtime } = await builtRelease();
    const entries = await tarEntries(runtime);
    for (const expected of [
      "package/bin/runtimeuse.js",
      "package/dist/index.js",
      "package/dist/index.d.ts",
      "package/dist/bundle/cli.js",
      "package/dist/bundle/ts-hooks.js",
      "package/dist/protocol/index.js",
      "package/dist/protocol/index.d.ts",
    ]) {
      assert.ok(entries.includes(expected), `${expected} is packed`);
    }
    for (const entry of entries) assert.doesNotMatch(entry, /^package\/(src|test|scripts)\/|tsbuildinfo$/);
    assert.deepEqual(withoutSource(entries, "packages/runtimeuse"), [], "no stale build output is packed");
    assert.deepEqual(await namingProtocol(runtime), [], "every protocol import points into dist/protocol");

    const manifest = await tarJson(runtime, "package/package.json");
    const dependencies = Object.keys(manifest.dependencies as Record<string, string>);
    assert.ok(!dependencies.includes("@runtimeuse/protocol"), "the private protocol package is not a dependency");
    assert.ok(dependencies.includes("zod"), "the protocol's own dependency is the runtime's");
    for (const pkg of Object.values(AGENT_PACKAGES).flat()) {
      assert.ok(!dependencies.includes(pkg.name), `${pkg.name} is not a dependency`);
      assert.equal((manifest.peerDependencies as Record<string, string>)[pkg.name], pkg.range);
    }
    assert.equal(manifest.scripts, undefined);
  });

  test("the client tarball carries its build and the protocol inlined", async () => {
    const { client } = await builtRelease();
    const entries = await tarEntries(client);
    for (const expected of [
      "package/dist/index.js",
      "package/dist/node.d.ts",
      "package/README.md",
      "package/dist/protocol/index.d.ts",
    ]) {
      assert.ok(entries.includes(expected), `${expected} is packed`);
    }
    assert.deepEqual(withoutSource(entries, "packages/client"), []);
    assert.deepEqual(await namingProtocol(client), []);
    const manifest = await tarJson(client, "package/package.json");
    assert.deepEqual(Object.keys(manifest.dependencies as Record<string, string>).sort(), ["ws", "zod"]);
  });

  test("runtimeuse.mjs is one executable ES module, and the Python wheel and sdist carry the client at its version", async () => {
    const { oneFile, wheel, sdist } = await builtRelease();
    assert.match(await readFile(oneFile, "utf8"), /^#!\/usr\/bin\/env node\n/);
    const pyproject = await readFile(join(ROOT, "python/pyproject.toml"), "utf8");
    const version = /^version = "([^"]+)"/m.exec(pyproject)?.[1] as string;
    const { stdout: wheelList } = await run("python3", ["-m", "zipfile", "-l", wheel]);
    assert.match(wheelList, /runtimeuse_client\/__init__\.py/);
    assert.match(wheelList, /runtimeuse_client\/py\.typed/);
    assert.match(wheelList, new RegExp(`runtimeuse_client-${version.replaceAll(".", "\\.")}\\.dist-info/METADATA`));
    const sdistEntries = await tarEntries(sdist);
    assert.ok(sdistEntries.includes(`runtimeuse_client-${version}/PKG-INFO`));
    assert.ok(sdistEntries.includes(`runtimeuse_client-${version}/src/runtimeuse_client/client.py`));
  });
});
