#!/usr/bin/env node
// Bundles the CLI from the tsc output (dist/cli/main.js) into dist/bundle/,
// so `npx runtimeuse` loads a few files instead of ~160 modules (zod alone is
// ~95) before it listens. Code behind a dynamic import() (agents, artifact
// watching, downloads) stays in separate chunks, loaded on first use. The
// library entry (dist/index.js) stays what importers of the package get; its
// bundled copy serves handler modules the CLI loads. Run after `tsc -b`.
import { readFile, rm } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const pkgDir = fileURLToPath(new URL("../", import.meta.url));
const outdir = `${pkgDir}dist/bundle`;
// The bundle's chunks sit one folder deeper than dist/version.js, which reads ../package.json.
const { version } = JSON.parse(await readFile(`${pkgDir}package.json`, "utf8"));

await rm(outdir, { recursive: true, force: true });
await build({
  absWorkingDir: pkgDir,
  // The library entry is bundled too, sharing chunks with the CLI: a handler module's
  // `import ... from "runtimeuse"` resolves to it (see src/handlers/load.ts), so it
  // costs little more than the CLI already loaded and uses the same module instances.
  entryPoints: { cli: "dist/cli/main.js", index: "dist/index.js", "ts-hooks": "dist/handlers/typescript/ts-hooks.js" },
  define: { RUNTIMEUSE_BUNDLE: "true", __RUNTIMEUSE_VERSION__: JSON.stringify(version) },
  outdir,
  bundle: true,
  splitting: true,
  format: "esm",
  platform: "node",
  target: "node20",
  logLevel: "warning",
  // Agent SDKs are optional peer dependencies, loaded only when used; sucrase
  // is loaded by the TypeScript hooks on the loader thread. They resolve from
  // node_modules at run time. The others are optional native add-ons.
  external: [
    "@openai/agents",
    "openai",
    "@anthropic-ai/claude-agent-sdk",
    "sucrase",
    "fsevents",
    "bufferutil",
    "utf-8-validate",
  ],
  // CommonJS dependencies (ws, yauzl) call require() for Node built-ins,
  // which an ES module does not have.
  banner: {
    js: 'import { createRequire as __runtimeuseCreateRequire } from "node:module"; const require = __runtimeuseCreateRequire(import.meta.url);',
  },
});
