import { existsSync } from "node:fs";
// Read from the module object, not imported by name: on a Node without it the
// runtime must still load far enough to say which version it needs.
import nodeModule from "node:module";

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
  if (typeof nodeModule.register !== "function") {
    throw new Error(`loading a TypeScript handler needs Node 20.6 or newer; this is Node ${process.versions.node}`);
  }
  nodeModule.register(hooksUrl());
  registered = true;
}

function hooksUrl(): string {
  if (typeof __RUNTIMEUSE_TS_HOOKS__ === "string") {
    return `data:text/javascript;base64,${Buffer.from(__RUNTIMEUSE_TS_HOOKS__).toString("base64")}`;
  }
  // Beside this module: dist/handlers/typescript/ in the library, and
  // dist/bundle/ in the bundled CLI, where ts-hooks.js is an entry point.
  const built = new URL("./ts-hooks.js", import.meta.url);
  if (existsSync(built)) return built.href;
  // Run from its TypeScript source (the tests, through tsx), only ts-hooks.ts is
  // there. Node 20 finds it through tsx's resolution; from Node 22 on, a
  // registered hooks module is resolved without it, and read as TypeScript.
  return new URL("./ts-hooks.ts", import.meta.url).href;
}
