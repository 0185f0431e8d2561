// Builds runtimeuse.mjs: the runtime CLI as one ES module that runs with
// nothing but Node 20 (`node runtimeuse.mjs --agent echo`). Everything is
// inlined except the agent SDKs, which resolve from a node_modules folder
// beside the file (or above it) when installed (see agent-packages.ts).
//
// Agent SDKs: the handler modules import them statically, and without code
// splitting esbuild would hoist those imports to the top of the file, where a
// missing SDK breaks every start. Each SDK import is therefore served by a
// small module that imports the SDK with a top-level await and re-exports its
// names; esbuild runs it only when that agent's handler is first loaded.
//
// TypeScript handlers: Node 20 cannot strip types, so the file carries
// sucrase (about 0.3 MB minified, pure JavaScript) inside the source of the
// module hooks that transpile .ts files (src/handlers/typescript/ts-hooks.ts).
// The hooks run on Node's loader thread, which loads them from a data: URL
// built from that source; the main thread never loads sucrase.
import { readFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { build } from "esbuild";

const AGENT_SDKS = ["@openai/agents", "openai", "@anthropic-ai/claude-agent-sdk"];

// The file is the library as well as the CLI: a handler's `import ... from
// "runtimeuse"` resolves to this very module (src/handlers/self-resolve.ts), so
// the CLI runs only when the file is the program, and without a top-level
// await, which would keep that import waiting for the runtime to stop.
const ENTRY = `export * from "./dist/index.js";
import { realpathSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { main } from "./dist/cli/main.js";
if (process.argv[1] !== undefined && realpathSync(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main(process.argv.slice(2)).then((code) => {
    process.exitCode = code;
  });
}
`;

export async function buildOneFile(root, outfile) {
  const runtimeDir = join(root, "packages/runtimeuse");
  const { version } = JSON.parse(await readFile(join(runtimeDir, "package.json"), "utf8"));
  const hooks = await build({
    absWorkingDir: runtimeDir,
    entryPoints: ["dist/handlers/typescript/ts-hooks.js"],
    bundle: true,
    write: false,
    format: "esm",
    platform: "node",
    target: "node20",
    minify: true,
    logLevel: "warning",
  });
  const hooksSource = hooks.outputFiles[0]?.text;
  if (!hooksSource) throw new Error("esbuild produced no TypeScript hooks module");
  await build({
    absWorkingDir: runtimeDir,
    stdin: {
      contents: ENTRY,
      sourcefile: "runtimeuse.mjs",
      resolveDir: runtimeDir,
      loader: "js",
    },
    outfile,
    bundle: true,
    format: "esm",
    platform: "node",
    target: "node20",
    // Whitespace and syntax only: names stay readable in stack traces.
    minifyWhitespace: true,
    minifySyntax: true,
    legalComments: "eof",
    logLevel: "warning",
    define: {
      __RUNTIMEUSE_VERSION__: JSON.stringify(version),
      RUNTIMEUSE_ONE_FILE: "true",
      __RUNTIMEUSE_TS_HOOKS__: JSON.stringify(hooksSource),
    },
    plugins: [deferredSdks(runtimeDir)],
    // Optional native add-ons of ws and chokidar; both work without them.
    external: ["fsevents", "bufferutil", "utf-8-validate"],
    banner: {
      js: '#!/usr/bin/env node\nimport { createRequire as __runtimeuseCreateRequire } from "node:module"; const require = __runtimeuseCreateRequire(import.meta.url);',
    },
  });
}

/** Serves each agent SDK import with a module that loads the SDK when first run (see the top of this file). */
function deferredSdks(runtimeDir) {
  const requireFromRuntime = createRequire(join(runtimeDir, "package.json"));
  const filter = new RegExp(`^(${AGENT_SDKS.map((name) => name.replace(/[/.]/g, "\\$&")).join("|")})$`);
  return {
    name: "deferred-agent-sdks",
    setup(build) {
      // The serving module's own import() of the SDK stays a real import, resolved at run time.
      build.onResolve({ filter }, ({ path, namespace }) =>
        namespace === "agent-sdk" ? { path, external: true } : { path, namespace: "agent-sdk" },
      );
      build.onLoad({ filter: /.*/, namespace: "agent-sdk" }, async ({ path }) => {
        // The installed SDK (a devDependency here) tells which names it exports.
        const sdk = await import(pathToFileURL(requireFromRuntime.resolve(path)).href);
        const names = Object.keys(sdk).filter((name) => name !== "default" && /^[A-Za-z_$][\w$]*$/.test(name));
        const lines = [`const sdk = await import(${JSON.stringify(path)});`];
        if (names.length > 0) lines.push(`export const { ${names.join(", ")} } = sdk;`);
        if ("default" in sdk) lines.push("export default sdk.default;");
        return { contents: lines.join("\n"), loader: "js" };
      });
    },
  };
}
