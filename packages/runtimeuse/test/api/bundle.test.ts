import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { test } from "node:test";

// scripts/bundle.mjs builds dist/bundle (the test runner rebuilds it first); esbuild
// marks where each bundled package module starts with a `// ...node_modules/<path>` line.

const BUNDLE = new URL("../../dist/bundle/", import.meta.url);

/** The package modules in the chunks `cli.js` imports statically, all of which load before the CLI listens. */
async function modulesLoadedAtStart(): Promise<Set<string>> {
  const chunks = new Set<string>();
  const modules = new Set<string>();
  const queue = ["cli.js"];
  for (let chunk = queue.pop(); chunk !== undefined; chunk = queue.pop()) {
    if (chunks.has(chunk)) continue;
    chunks.add(chunk);
    const source = await readFile(new URL(chunk, BUNDLE), "utf8");
    for (const match of source.matchAll(/^(?:import|export)\b[^;]*?["']\.\/([^"']+)["']/gm)) queue.push(match[1] ?? "");
    for (const match of source.matchAll(/^\/\/ \S*node_modules\/(\S+)$/gm)) modules.add(match[1] ?? "");
  }
  return modules;
}

test("the bundled CLI loads zod's schemas and English messages before it listens, none of its other locales, JSON Schema import or compiler", async () => {
  const zod = [...(await modulesLoadedAtStart())].filter((module) => module.startsWith("zod/"));
  assert.ok(zod.includes("zod/v4/classic/schemas.js"), `zod modules found: ${zod.join(", ")}`);
  assert.ok(zod.includes("zod/v4/locales/en.js"));
  assert.deepEqual(
    zod.filter(
      (module) =>
        (module.startsWith("zod/v4/locales/") && module !== "zod/v4/locales/en.js") ||
        module.endsWith("/from-json-schema.js") ||
        module.endsWith("/compile.js"),
    ),
    [],
  );
});
