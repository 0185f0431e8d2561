import { readFile, stat } from "node:fs/promises";
import { createRequire } from "node:module";
import { isAbsolute, join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

/** Where a `--handler` argument leads: the module file to import, or why there is none (one line). */
export type Located = { file: string } | { error: string };

/** An npm package name, scoped or not, with an optional subpath: what `import "x"` would look up in node_modules. */
const PACKAGE_SPECIFIER = /^(@[a-z0-9][\w.~-]*\/)?[a-z0-9][\w.~-]*(\/.+)?$/i;

/** A name ending like a module file (`agent.mjs`, `chart.js`): a missing file, unless an installed package has it. */
const MODULE_FILE = /\.(m|c)?(j|t)s$/;

/** Index files a directory without a usable package.json entry may hold, after what `node <dir>` would run (index.js). */
const OTHER_INDEXES = ["index.mjs", "index.cjs", "index.ts", "index.mts", "index.cts"];

async function kindOf(path: string): Promise<"file" | "directory" | undefined> {
  try {
    const found = await stat(path);
    return found.isDirectory() ? "directory" : "file";
  } catch {
    return undefined;
  }
}

/** An error's first line: Node's resolution errors go on with hints a one-line message has no room for. */
const reason = (error: unknown) => (error instanceof Error ? error.message : String(error)).split("\n", 1)[0] ?? "";

/**
 * What `--handler <path>` names, as its users would write it:
 * - a file: that file;
 * - a directory (a handler kept as a package): its package.json `exports`
 *   (when the package has a name), else what `node <dir>` would run (`main`,
 *   else `index.js`), else an `index.mjs`, `index.cjs` or `index.ts`;
 * - an installed package's name (`my-agent`, `@acme/agent`, `@acme/agent/sub`)
 *   when no such file exists: what `import "<name>"` in a module of `cwd`
 *   would load, from `node_modules` in `cwd` or a folder above it, else one
 *   installed beside this runtime (both installed globally, say). A name
 *   ending like a module file (`chart.js`) is a package's only when one
 *   installed has it; otherwise it names a missing file.
 */
export async function locateHandlerModule(path: string, cwd: string): Promise<Located> {
  // Resolved, an empty path is the working directory, and would load whatever package is there.
  if (path.trim() === "") return { error: "the handler path is empty: name a module file, a directory or a package" };
  const target = resolve(cwd, path);
  const kind = await kindOf(target);
  if (kind === "file") return { file: target };
  if (kind === "directory") return locateInDirectory(target);
  const missingFile = `handler file not found: ${target}`;
  const bare = !isAbsolute(path) && !path.startsWith(".") && PACKAGE_SPECIFIER.test(path);
  if (!bare) return { error: missingFile };
  const located = await locatePackage(path, cwd);
  // Named like a module file (`lib/agent.ts`), it is taken for a missing file unless a package has it.
  if (MODULE_FILE.test(path)) return located !== undefined && "file" in located ? located : { error: missingFile };
  return (
    located ?? {
      error: `handler not found: no file or directory ${target}, and no package "${packageNameOf(path)}" installed in node_modules of ${cwd} or a folder above it, or beside runtimeuse`,
    }
  );
}

async function locateInDirectory(dir: string): Promise<Located> {
  const manifestPath = join(dir, "package.json");
  let manifest: { name?: unknown; exports?: unknown; main?: unknown } | undefined;
  let text: string | undefined;
  try {
    text = await readFile(manifestPath, "utf8");
  } catch {
    // No package.json: the index files below.
  }
  if (text !== undefined) {
    try {
      manifest = JSON.parse(text) as typeof manifest;
    } catch (error) {
      return { error: `handler directory ${dir}: its package.json is not JSON: ${reason(error)}` };
    }
  }
  if (manifest?.exports !== undefined && typeof manifest.name === "string") {
    // The package importing itself by name follows its `exports`, as Node does.
    const { resolve: resolveImport } = await import("import-meta-resolve");
    try {
      return fileOf(resolveImport(manifest.name, pathToFileURL(manifestPath).href), dir);
    } catch (error) {
      return { error: `handler directory ${dir}: its package.json exports no entry for import: ${reason(error)}` };
    }
  }
  try {
    return { file: createRequire(manifestPath).resolve(dir) };
  } catch {
    // Neither `main` nor index.js: another index, or nothing.
  }
  for (const name of OTHER_INDEXES) {
    const file = join(dir, name);
    if ((await kindOf(file)) === "file") return { file };
  }
  const main = manifest?.main;
  if (typeof main === "string" && main !== "") {
    return { error: `handler directory ${dir}: its package.json "main" (${main}) leads to no file (not built yet?)` };
  }
  return {
    error: `handler directory ${dir} has no entry: give its package.json a "main" (or "exports" and a "name"), or add an index.js, index.mjs or index.ts`,
  };
}

/** `@scope/name` or `name`, without a subpath. */
const packageNameOf = (specifier: string) => specifier.split("/", specifier.startsWith("@") ? 2 : 1).join("/");

/** The package `name` leads to, or why it cannot be loaded; undefined when no such package is installed. */
async function locatePackage(name: string, cwd: string): Promise<Located | undefined> {
  const { resolve: resolveImport } = await import("import-meta-resolve");
  const packageName = packageNameOf(name);
  // From the working directory first, then from where this runtime is installed: a
  // package installed beside it (`npm install -g runtimeuse @acme/agent`) is found too.
  for (const parent of [pathToFileURL(join(cwd, "/")).href, import.meta.url]) {
    let url: string;
    try {
      url = resolveImport(name, parent);
    } catch (error) {
      // Only a package that is not there goes on (Node names the package's directory when its entry file is missing).
      if (!reason(error).startsWith(`Cannot find package '${packageName}' `)) {
        return { error: `handler package "${name}" cannot be loaded: ${reason(error)}` };
      }
      continue;
    }
    const located = fileOf(url, name);
    // A subpath of a package without `exports` resolves to its file whether or not the file is there.
    if ("file" in located && (await kindOf(located.file)) !== "file") {
      return { error: `handler package "${name}" cannot be loaded: it leads to ${located.file}, which does not exist` };
    }
    return located;
  }
  return undefined;
}

function fileOf(url: string, what: string): Located {
  if (!url.startsWith("file:")) return { error: `handler ${what} resolves to ${url}, which is not a module file` };
  return { file: fileURLToPath(url) };
}
