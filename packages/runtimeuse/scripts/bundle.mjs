#!/usr/bin/env node
// Bundles the CLI from the tsc output (dist/cli/main.js) into dist/bundle/,
// so `npx runtimeuse` loads a few files instead of ~160 modules (zod alone is
// ~95) before it listens. Code behind a dynamic import() (agents, artifact
// watching, downloads) stays in separate chunks, loaded on first use. The
// library entry (dist/index.js) is not bundled. Run after `tsc -b`.
import { rm } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const pkgDir = fileURLToPath(new URL("../", import.meta.url));
const outdir = `${pkgDir}dist/bundle`;

await rm(outdir, { recursive: true, force: true });
await build({
  absWorkingDir: pkgDir,
  entryPoints: { cli: "dist/cli/main.js" },
  outdir,
  bundle: true,
  splitting: true,
  format: "esm",
  platform: "node",
  target: "node20",
  logLevel: "warning",
  // Agent SDKs and tsx are large and loaded only when used; they resolve from
  // node_modules at run time. The others are optional native add-ons.
  external: [
    "@openai/agents",
    "openai",
    "@anthropic-ai/claude-agent-sdk",
    "@agentclientprotocol/sdk",
    "@agentclientprotocol/sdk/*",
    "tsx",
    "tsx/*",
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
