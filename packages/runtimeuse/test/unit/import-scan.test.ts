import assert from "node:assert/strict";
import { mkdir, mkdtemp, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { after, before, describe, test } from "node:test";
import { mayReachRuntimeuse } from "../../src/handlers/import-scan.js";

// Each case is a handler folder written to disk; the scan reads only that. Whether
// the answer matches what Node then does is pinned with the real binary in
// test/cli/handler-hooks.test.ts.

const HANDLER = "export default async (invocation) => ({ type: 'text', text: invocation.userPrompt });\n";

let root: string;
let count = 0;

/** Writes `files` (relative path -> content) into a fresh folder; returns the path of `handler.mjs` in it. */
async function handlerFolder(files: Record<string, string>): Promise<string> {
  const dir = join(root, `case-${++count}`);
  for (const [path, content] of Object.entries(files)) {
    await mkdir(dirname(join(dir, path)), { recursive: true });
    await writeFile(join(dir, path), content);
  }
  return join(dir, "handler.mjs");
}

before(async () => {
  root = await mkdtemp(join(tmpdir(), "ru-import-scan-"));
});
after(async () => {
  await rm(root, { recursive: true, force: true });
});

describe("a handler whose imports cannot reach runtimeuse goes without the resolution hooks", () => {
  test("no imports at all", async () => {
    assert.equal(await mayReachRuntimeuse(await handlerFolder({ "handler.mjs": HANDLER }), []), false);
  });

  test("Node built-ins, relative .mjs files, .js files of a type-module package, JSON and import.meta.url", async () => {
    const handler = await handlerFolder({
      "handler.mjs": [
        'import { readFile } from "node:fs/promises";',
        'import { join } from "path";',
        'import { shout } from "./lib/shout.mjs";',
        'import data from "./data.json" with { type: "json" };',
        'export * from "./lib/more.mjs";',
        "const here = new URL('.', import.meta.url); const dir = import.meta.dirname;",
        HANDLER,
      ].join("\n"),
      "lib/shout.mjs":
        'import { helper } from "../esm/helper.js";\nexport const shout = (s) => helper(s).toUpperCase();\n',
      "lib/more.mjs": 'export { shout as loud } from "./shout.mjs";\n',
      "esm/package.json": '{ "type": "module" }',
      "esm/helper.js": "export const helper = (s) => s;\n",
      "data.json": "{}",
    });
    assert.equal(await mayReachRuntimeuse(handler, []), false);
  });

  test("a handler reached through a symbolic link is scanned where it lives", async () => {
    const handler = await handlerFolder({ "handler.mjs": 'import "./real/a.mjs";\n', "real/a.mjs": HANDLER });
    await symlink(join(dirname(handler), "real"), join(dirname(handler), "link"));
    await writeFile(join(dirname(handler), "via-link.mjs"), 'import "./link/a.mjs";\n');
    assert.equal(await mayReachRuntimeuse(join(dirname(handler), "via-link.mjs"), []), false);
  });
});

describe("a handler that may reach runtimeuse gets the resolution hooks", () => {
  const cases: Array<[string, Record<string, string>]> = [
    ["it imports runtimeuse", { "handler.mjs": `import { echoHandler } from "runtimeuse";\n${HANDLER}` }],
    [
      "a module it imports imports runtimeuse",
      { "handler.mjs": `import "./lib/a.mjs";\n${HANDLER}`, "lib/a.mjs": 'export * from "runtimeuse";\n' },
    ],
    ["it imports a package by name", { "handler.mjs": `import { WebSocket } from "ws";\n${HANDLER}` }],
    ["it imports a package's subpath import", { "handler.mjs": `import x from "#internal";\n${HANDLER}` }],
    [
      "it has a dynamic import()",
      { "handler.mjs": `const m = await import("./lib/a.mjs");\n${HANDLER}`, "lib/a.mjs": "" },
    ],
    ["it computes an import's name", { "handler.mjs": `const name = "x"; await import(name);\n${HANDLER}` }],
    ["it calls import.meta.resolve", { "handler.mjs": `const where = import.meta.resolve("x");\n${HANDLER}` }],
    ["it uses import.meta beyond url, dirname, filename", { "handler.mjs": `const meta = import.meta;\n${HANDLER}` }],
    ["it compiles code with Function", { "handler.mjs": `new Function("return 1")();\n${HANDLER}` }],
    ["it calls eval", { "handler.mjs": `(0, eval)("1");\n${HANDLER}` }],
    ["it reaches a function constructor", { "handler.mjs": `(async () => {}).constructor("return 1");\n${HANDLER}` }],
    ["it uses require", { "handler.mjs": `const load = process.mainModule?.require;\n${HANDLER}` }],
    ["it imports node:module", { "handler.mjs": `import { createRequire } from "node:module";\n${HANDLER}` }],
    ["it asks for a built-in at run time", { "handler.mjs": `process.getBuiltinModule("node:vm");\n${HANDLER}` }],
    ["it names runtimeuse anywhere", { "handler.mjs": `const name = "runtimeuse";\n${HANDLER}` }],
    ["it imports node:vm", { "handler.mjs": `import vm from "node:vm";\n${HANDLER}` }],
    ["it imports worker_threads", { "handler.mjs": `import { Worker } from "worker_threads";\n${HANDLER}` }],
    [
      "it imports a .js file outside a type-module package",
      { "handler.mjs": 'import "./a.js";\n', "a.js": "", "package.json": '{ "name": "x" }' },
    ],
    ["it imports a .cjs file", { "handler.mjs": 'import "./a.cjs";\n', "a.cjs": "" }],
    ["it imports a .ts file", { "handler.mjs": 'import "./a.ts";\n', "a.ts": "" }],
    ["it imports a file that is not there", { "handler.mjs": 'import "./missing.mjs";\n' }],
    ["it imports a file with a query", { "handler.mjs": 'import "./a.mjs?v=1";\n', "a.mjs": "" }],
    ["it imports a data: URL", { "handler.mjs": "import 'data:text/javascript,export default 1';\n" }],
    ["a module it imports does not lex", { "handler.mjs": 'import "./a.mjs";\n', "a.mjs": "import { from 'x';\n" }],
  ];
  for (const [name, files] of cases) {
    test(name, async () => {
      assert.equal(await mayReachRuntimeuse(await handlerFolder(files), []), true);
    });
  }

  test("the package.json that decides a .js file's type does not parse", async () => {
    const handler = await handlerFolder({
      "handler.mjs": 'import "./esm/a.js";\n',
      "esm/package.json": "{",
      "esm/a.js": "",
    });
    assert.equal(await mayReachRuntimeuse(handler, []), true);
  });

  test("Node was started with options that can install hooks of their own", async () => {
    const handler = await handlerFolder({ "handler.mjs": HANDLER });
    for (const options of [
      ["--import", "tsx"],
      ["--loader=./l.mjs"],
      ["--experimental-loader", "x"],
      ["-r x"],
      ["--preserve-symlinks"],
    ]) {
      assert.equal(await mayReachRuntimeuse(handler, options), true, options.join(" "));
    }
    assert.equal(await mayReachRuntimeuse(handler, ["--max-old-space-size=100", "--enable-source-maps"]), false);
  });

  test("more bytes than the scan reads", async () => {
    const padding = `// ${"x".repeat(1024 * 1024)}\n`;
    const handler = await handlerFolder({
      "handler.mjs": `import "./a.mjs";\n${padding}${HANDLER}`,
      "a.mjs": `import "./b.mjs";\n${padding}`,
      "b.mjs": padding,
    });
    assert.equal(await mayReachRuntimeuse(handler, []), true);
  });

  test("more modules than the scan follows", async () => {
    const files: Record<string, string> = { "handler.mjs": 'import "./m0.mjs";\n' };
    for (let i = 0; i < 100; i++) files[`m${i}.mjs`] = `import "./m${i + 1}.mjs";\n`;
    files["m100.mjs"] = "";
    assert.equal(await mayReachRuntimeuse(await handlerFolder(files), []), true);
  });
});
