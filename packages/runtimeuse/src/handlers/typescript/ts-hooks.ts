// Module customization hooks (registered with node:module's register(), so
// they run on Node's loader thread) that let Node 20, which cannot strip types,
// import TypeScript handler modules: `.ts` and `.mts` files load as ES modules,
// `.cts` files as CommonJS. sucrase removes the types in place, keeping every
// line where it was, so stack traces point at the right lines of the .ts file.
// Nothing is type-checked. This module must stay self-contained apart from
// sucrase and node: built-ins: the one-file build inlines it as a data: URL.
import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import type { LoadHook, ResolveHook } from "node:module";
import { fileURLToPath } from "node:url";
import { transform } from "sucrase";

const TYPESCRIPT_FILE = /\.([mc]?)ts$/;

/**
 * Resolution as Node does it, plus what TypeScript sources expect of a
 * relative import from a .ts file: `./util.js` may name `./util.ts`, and
 * `./util` may name `./util.ts` or `./util/index.ts`.
 */
export const resolve: ResolveHook = async (specifier, context, nextResolve) => {
  try {
    return await nextResolve(specifier, context);
  } catch (error) {
    const parent = context.parentURL;
    const relative = specifier.startsWith("./") || specifier.startsWith("../");
    if (!relative || parent === undefined || !isTypeScript(parent) || !isNotFound(error)) throw error;
    for (const candidate of typeScriptCandidates(specifier)) {
      const url = new URL(candidate, parent);
      if (existsSync(fileURLToPath(url))) return { url: url.href, shortCircuit: true };
    }
    throw error;
  }
};

export const load: LoadHook = async (url, context, nextLoad) => {
  if (!url.startsWith("file:") || !isTypeScript(url)) return nextLoad(url, context);
  const path = fileURLToPath(url);
  const commonjs = TYPESCRIPT_FILE.exec(path)?.[1] === "c";
  const { code } = transform(await readFile(path, "utf8"), {
    transforms: commonjs ? ["typescript", "imports"] : ["typescript"],
    filePath: path,
    disableESTransforms: true,
  });
  return { format: commonjs ? "commonjs" : "module", source: code, shortCircuit: true };
};

function isTypeScript(url: string): boolean {
  return TYPESCRIPT_FILE.test(new URL(url).pathname);
}

function isNotFound(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return code === "ERR_MODULE_NOT_FOUND" || code === "ERR_UNSUPPORTED_DIR_IMPORT";
}

function typeScriptCandidates(specifier: string): string[] {
  const swapped = specifier.replace(/\.([mc]?)js$/, ".$1ts");
  if (swapped !== specifier) return [swapped];
  if (/\.[a-z]+$/i.test(specifier.slice(specifier.lastIndexOf("/") + 1))) return [];
  return [`${specifier}.ts`, `${specifier}/index.ts`];
}
