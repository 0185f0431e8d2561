import assert from "node:assert/strict";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { after, before, describe, test } from "node:test";
import type { AgentHandler, AgentInvocation, MessageSender } from "../../src/handler.js";
import { HandlerLoadError, loadHandlerModule } from "../../src/handlers/load.js";

/** A handler module answering with its own name, so a test sees which file was loaded. */
const answering = (name: string) =>
  `export default { async run() { return { type: "text", text: ${JSON.stringify(name)} }; } };\n`;

/** The text the handler `--handler <path>` leads to (run from `cwd`) answers with. */
async function answerOf(handler: AgentHandler): Promise<unknown> {
  const result = await handler.run({} as AgentInvocation, {} as MessageSender);
  return (result as { text?: unknown }).text;
}

describe("--handler names a package: its directory, or its name in node_modules", () => {
  let root: string;
  let project: string;
  const files: Record<string, string> = {
    // Installed packages, found by name from the project and its subfolders.
    "node_modules/plain-agent/package.json": JSON.stringify({ name: "plain-agent", main: "lib/agent.js" }),
    "node_modules/plain-agent/lib/agent.js": answering("plain-agent main").replace(
      "export default",
      "module.exports =",
    ),
    // Import-only exports and no main: a require() lookup cannot find it, an import can.
    "node_modules/@acme/esm-agent/package.json": JSON.stringify({
      name: "@acme/esm-agent",
      type: "module",
      exports: { ".": { import: "./dist/index.js" }, "./review": { import: "./dist/review.js" } },
    }),
    "node_modules/@acme/esm-agent/dist/index.js": answering("@acme/esm-agent"),
    "node_modules/@acme/esm-agent/dist/review.js": answering("@acme/esm-agent/review"),
    // A package whose name reads like a module file.
    "node_modules/chart.js/package.json": JSON.stringify({ name: "chart.js", type: "module", main: "agent.js" }),
    "node_modules/chart.js/agent.js": answering("chart.js package"),
    "node_modules/broken-agent/package.json": JSON.stringify({ name: "broken-agent", main: "missing.js" }),
    // Handlers kept as folders of the project.
    "agents/with-main/package.json": JSON.stringify({ main: "entry" }),
    "agents/with-main/entry.js": answering("with-main").replace("export default", "module.exports ="),
    "agents/with-exports/package.json": JSON.stringify({
      name: "with-exports",
      type: "module",
      main: "wrong.js",
      exports: { import: "./src/agent.js" },
    }),
    "agents/with-exports/src/agent.js": answering("with-exports"),
    "agents/index-only/index.mjs": answering("not an index.js"),
    "agents/index-only/index.js": answering("index-only").replace("export default", "module.exports ="),
    "agents/esm-index/index.mjs": answering("esm-index"),
    "agents/typescript/index.ts": `import type { AgentHandler } from "runtimeuse";\nconst handler: AgentHandler = { async run() { return { type: "text", text: "typescript" }; } };\nexport default handler;\n`,
    "agents/unbuilt/package.json": JSON.stringify({ name: "unbuilt", main: "dist/index.js" }),
    "agents/unbuilt/src/index.ts": answering("not the main"),
    "agents/unbuilt-ts/package.json": JSON.stringify({ name: "unbuilt-ts", main: "dist/index.js" }),
    "agents/unbuilt-ts/index.ts": `export default { async run() { return { type: "text", text: "unbuilt-ts" }; } };\n`,
    "agents/empty/package.json": JSON.stringify({ name: "empty" }),
    "agents/empty/README.md": "nothing to run\n",
    "agents/not-json/package.json": "{ main: entry.js }",
    // A file whose name could be a package's: the file comes first.
    "plain-agent-file/plain-agent": "",
  };

  before(async () => {
    root = await mkdtemp(join(tmpdir(), "ru-handler-packages-"));
    project = join(root, "project");
    for (const [path, text] of Object.entries(files)) {
      await mkdir(dirname(join(project, path)), { recursive: true });
      await writeFile(join(project, path), text);
    }
    await mkdir(join(project, "deeper", "still"), { recursive: true });
  });
  after(async () => {
    await rm(root, { recursive: true, force: true });
  });

  const found: Array<[string, string, string]> = [
    ["a package name: its main", "plain-agent", "plain-agent main"],
    ["a scoped package with import-only exports", "@acme/esm-agent", "@acme/esm-agent"],
    ["a package's exported subpath", "@acme/esm-agent/review", "@acme/esm-agent/review"],
    [
      "a directory: its package.json main, without an extension, as node <dir> runs it",
      "./agents/with-main",
      "with-main",
    ],
    ["a directory whose package has a name: its exports before its main", "agents/with-exports", "with-exports"],
    ["a directory without package.json: its index.js", "agents/index-only/", "index-only"],
    ["a directory with only an index.mjs", "agents/esm-index", "esm-index"],
    ["a directory with only an index.ts", "agents/typescript", "typescript"],
    ["a directory whose main is not built yet, with an index.ts beside it", "agents/unbuilt-ts", "unbuilt-ts"],
    ["a package whose name ends like a module file, when no such file exists", "chart.js", "chart.js package"],
  ];
  for (const [what, path, answer] of found) {
    test(what, async () => {
      assert.equal(await answerOf(await loadHandlerModule(path, project)), answer);
    });
  }

  test("a package is found from a folder below the one its node_modules is in", async () => {
    assert.equal(
      await answerOf(await loadHandlerModule("@acme/esm-agent", join(project, "deeper", "still"))),
      "@acme/esm-agent",
    );
  });

  const refused: Array<[string, string, RegExp]> = [
    [
      "a subpath of a package that is not installed",
      "no-such-agent/sub",
      /^handler not found: no file or directory .*project\/no-such-agent\/sub, and no package "no-such-agent" installed/,
    ],
    [
      "a name that is neither a file nor an installed package",
      "no-such-agent",
      /^handler not found: no file or directory .*project\/no-such-agent, and no package "no-such-agent" installed in node_modules of .*project or a folder above it, or beside runtimeuse$/,
    ],
    [
      "a missing file named like a module",
      "missing-agent.mjs",
      /^handler file not found: .*project\/missing-agent\.mjs$/,
    ],
    [
      "a missing module file under a folder named like an installed package",
      "plain-agent/agent.ts",
      /^handler file not found: .*project\/plain-agent\/agent\.ts$/,
    ],
    ["a missing relative path", "./agents/none", /^handler file not found: .*project\/agents\/none$/],
    [
      "a subpath the package does not export",
      "@acme/esm-agent/internal",
      /^handler package "@acme\/esm-agent\/internal" cannot be loaded: .*internal/,
    ],
    [
      "an installed package whose main file is missing",
      "broken-agent",
      /^handler package "broken-agent" cannot be loaded: .*node_modules\/broken-agent\//,
    ],
    [
      "a subpath of a package without exports that leads to no file",
      "plain-agent/lib/none",
      /^handler package "plain-agent\/lib\/none" cannot be loaded: it leads to .*node_modules\/plain-agent\/lib\/none, which does not exist$/,
    ],
    ["a Node built-in", "fs", /^handler fs resolves to node:fs, which is not a module file$/],
    [
      "a directory with nothing to run",
      "agents/empty",
      /^handler directory .*agents\/empty has no entry: give its package\.json a "main" \(or "exports" and a "name"\), or add an index\.js, index\.mjs or index\.ts$/,
    ],
    [
      "a directory whose package.json main leads to no file",
      "agents/unbuilt",
      /^handler directory .*agents\/unbuilt: its package\.json "main" \(dist\/index\.js\) leads to no file \(not built yet\?\)$/,
    ],
    [
      "a directory whose package.json is not JSON",
      "agents/not-json",
      /^handler directory .*agents\/not-json: its package\.json is not JSON: /,
    ],
  ];
  for (const [what, path, message] of refused) {
    test(`${what} is refused in one line naming it`, async () => {
      await assert.rejects(loadHandlerModule(path, project), (error: unknown) => {
        assert.ok(error instanceof HandlerLoadError, String(error));
        assert.match(error.message, message);
        assert.equal(error.message.split("\n").length, 1, error.message);
        return true;
      });
    });
  }

  test("a file of the name comes before a package of the name", async () => {
    // An empty file is a module that exports nothing: it is what was loaded, not the package.
    await assert.rejects(
      loadHandlerModule("plain-agent", join(project, "plain-agent-file")),
      /plain-agent exports no handler/,
    );
  });
});
