import { register } from "node:module";

/**
 * Set by the one-file build (scripts/release) to the source of ts-hooks.js
 * with sucrase inlined, since that build has no file beside it to point at.
 */
declare const __RUNTIMEUSE_TS_HOOKS__: string | undefined;

let registered = false;

/**
 * Lets `import()` load TypeScript modules from now on, for the whole process
 * (see ts-hooks.ts). Idempotent. Needs Node 20.6 or newer (module.register).
 */
export function enableTypeScriptImports(): void {
  if (registered) return;
  if (typeof register !== "function") {
    throw new Error(`loading a TypeScript handler needs Node 20.6 or newer; this is Node ${process.versions.node}`);
  }
  register(hooksUrl());
  registered = true;
}

function hooksUrl(): string {
  if (typeof __RUNTIMEUSE_TS_HOOKS__ === "string") {
    return `data:text/javascript;base64,${Buffer.from(__RUNTIMEUSE_TS_HOOKS__).toString("base64")}`;
  }
  // Beside this module: dist/handlers/typescript/ in the library, and
  // dist/bundle/ in the bundled CLI, where ts-hooks.js is an entry point.
  return new URL("./ts-hooks.js", import.meta.url).href;
}
