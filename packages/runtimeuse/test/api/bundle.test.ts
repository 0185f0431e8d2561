import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { test } from "node:test";

// scripts/bundle.mjs builds dist/bundle (the test runner rebuilds it first); esbuild
// marks where each bundled package module starts with a `// ...node_modules/<path>` line.

const BUNDLE = new URL("../../dist/bundle/", import.meta.url);

/**
 * The package modules in `chunks` and in every chunk they import statically
 * (all of which load with them), and the chunks they load with `import()`.
 */
async function modulesLoadedWith(...chunks: string[]): Promise<{ modules: Set<string>; dynamic: Set<string> }> {
  const seen = new Set<string>();
  const modules = new Set<string>();
  const dynamic = new Set<string>();
  const queue = [...chunks];
  for (let chunk = queue.pop(); chunk !== undefined; chunk = queue.pop()) {
    if (seen.has(chunk)) continue;
    seen.add(chunk);
    const source = await readFile(new URL(chunk, BUNDLE), "utf8");
    for (const match of source.matchAll(/^(?:import|export)\b[^;]*?["']\.\/([^"']+)["']/gm)) queue.push(match[1] ?? "");
    for (const match of source.matchAll(/\bimport\(\s*["']\.\/([^"']+)["']\s*\)/g)) dynamic.add(match[1] ?? "");
    for (const match of source.matchAll(/^\/\/ \S*node_modules\/(\S+)$/gm)) modules.add(match[1] ?? "");
  }
  return { modules, dynamic };
}

const isZod = (module: string) => module.startsWith("zod/");

test("the bundled CLI listens before it loads zod: the session chunk, loaded as the server starts to listen, brings it", async () => {
  const atStart = await modulesLoadedWith("cli.js");
  assert.deepEqual([...atStart.modules].filter(isZod), []);
  const sessionChunk = [...atStart.dynamic].find((chunk) => /^session-[A-Z0-9]+\.js$/.test(chunk));
  assert.ok(sessionChunk, `cli.js's chunks load ${[...atStart.dynamic].join(", ")} on demand, no session chunk`);
  const zod = [...(await modulesLoadedWith("cli.js", sessionChunk)).modules].filter(isZod);
  assert.ok(zod.includes("zod/v4/classic/schemas.js"), `zod modules found: ${zod.join(", ")}`);
  assert.ok(zod.includes("zod/v4/locales/en.js"));
  // Of zod, only what the schemas use: no other locale, no JSON Schema import or compiler.
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
