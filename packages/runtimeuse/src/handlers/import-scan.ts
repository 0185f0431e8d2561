import { readFile, realpath, stat } from "node:fs/promises";
import { isBuiltin } from "node:module";
import { dirname, extname, join, sep } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { init, parse } from "es-module-lexer/minimal";

/**
 * Whether loading the handler module `file` could make Node's ES module
 * loader resolve `runtimeuse` (or a TypeScript file), which is what the
 * resolution hooks of self-resolve.ts are for. Starting those hooks costs a
 * loader thread; a handler that cannot ask for them loads and runs the same
 * without it.
 *
 * `false` only when every module the handler reaches, followed file by file
 * on disk, is an ES module (`.mjs`, or `.js` in a `"type": "module"`
 * package) whose imports are all static and name a Node built-in or another
 * such file (or a `.json` file), that uses `import.meta` only for `url`,
 * `dirname` or `filename`, that imports no built-in able to load code (`vm`,
 * `worker_threads`, `module`, `inspector`, `repl`), and whose text (strings
 * and comments included) has none of the words by which code reaches a
 * compiler or loader at run time or names the runtime: `eval`, `Function`,
 * `constructor`, `require`, `getBuiltinModule`, `dlopen`, `runtimeuse`.
 * Code that gets hold of one without naming it, by a computed key, is beyond
 * what reading the text can see. Anything else (a bare package name, a
 * dynamic `import()`, a file that cannot be read or lexed) is `true`; so is
 * every file when `nodeOptions` (this process's by default) can install hooks
 * of their own, which may resolve differently.
 */
export async function mayReachRuntimeuse(file: string, nodeOptions = processNodeOptions()): Promise<boolean> {
  if (HOOK_OPTIONS.test(nodeOptions.join(" "))) return true;
  try {
    await init();
    const scan = new Scan();
    return await scan.reaches(await realpath(file));
  } catch {
    return true;
  }
}

function processNodeOptions(): string[] {
  const options = [...process.execArgv, process.env.NODE_OPTIONS ?? ""];
  if (process.env.NODE_PRESERVE_SYMLINKS === "1") options.push("--preserve-symlinks");
  return options;
}

/**
 * Node options that can install module hooks before the runtime starts, or
 * make Node resolve files other than the ones the scan follows (links kept).
 */
const HOOK_OPTIONS =
  /(?:^|\s)(?:--(?:experimental-)?loader|--import|--require|-r|--preserve-symlinks(?:-main)?)(?:[\s=]|$)/;
const CODE_FROM_STRINGS = /\b(?:eval|Function|constructor|require|getBuiltinModule|dlopen|runtimeuse)\b/;
const CODE_LOADING_BUILTINS = new Set(["vm", "worker_threads", "module", "inspector", "repl"]);
const PLAIN_META = /^\s*\.\s*(?:url|dirname|filename)\b/;
/** Past this many files or bytes the scan gives up (and the hooks are started): it must cost less than they do. */
const MAX_FILES = 64;
const MAX_BYTES = 2 * 1024 * 1024;

const STATIC_IMPORT = 1;
const IMPORT_META = 3;
const REEXPORT_STAR = 8;

class Scan {
  private readonly seen = new Set<string>();
  private bytes = 0;
  /** Directory -> whether the package scope it is in says `"type": "module"`. */
  private readonly moduleScopes = new Map<string, Promise<boolean>>();

  async reaches(entry: string): Promise<boolean> {
    const queue = [entry];
    this.seen.add(entry);
    for (let path = queue.pop(); path !== undefined; path = queue.pop()) {
      if (extname(path) === ".json") continue;
      if (!(await this.isEsModule(path))) return true;
      const source = await readFile(path, "utf8");
      this.bytes += source.length;
      if (this.bytes > MAX_BYTES || CODE_FROM_STRINGS.test(source)) return true;
      const [imports] = parse(source);
      for (const { t: kind, n: specifier, e: end } of imports) {
        if (kind === IMPORT_META) {
          if (!PLAIN_META.test(source.slice(end))) return true;
          continue;
        }
        if ((kind !== STATIC_IMPORT && kind !== REEXPORT_STAR) || specifier === undefined) return true;
        if (isBuiltin(specifier)) {
          if (CODE_LOADING_BUILTINS.has(specifier.replace(/^node:/, ""))) return true;
          continue;
        }
        const target = await localFile(specifier, path);
        if (target === undefined) return true;
        if (this.seen.has(target)) continue;
        if (this.seen.size >= MAX_FILES) return true;
        this.seen.add(target);
        queue.push(target);
      }
    }
    return false;
  }

  private async isEsModule(path: string): Promise<boolean> {
    if (path.endsWith(".mjs")) return true;
    if (!path.endsWith(".js") || path.split(sep).includes("node_modules")) return false;
    return this.moduleScope(dirname(path));
  }

  /** Node's rule: the nearest package.json decides, and only `"type": "module"` makes `.js` an ES module. */
  private moduleScope(dir: string): Promise<boolean> {
    let scope = this.moduleScopes.get(dir);
    if (scope === undefined) {
      scope = readFile(join(dir, "package.json"), "utf8").then(
        (text) => (JSON.parse(text) as { type?: unknown }).type === "module",
        (error: NodeJS.ErrnoException) => {
          if (error.code !== "ENOENT" || dirname(dir) === dir) return false;
          return this.moduleScope(dirname(dir));
        },
      );
      this.moduleScopes.set(dir, scope);
    }
    return scope;
  }
}

/** The file a relative, absolute or `file:` specifier names (as Node resolves it, links followed), or undefined. */
async function localFile(specifier: string, from: string): Promise<string | undefined> {
  if (!/^(?:\.{1,2}\/|\/|file:)/.test(specifier)) return undefined;
  const url = new URL(specifier, pathToFileURL(from));
  if (url.protocol !== "file:" || url.search !== "" || url.hash !== "") return undefined;
  const path = fileURLToPath(url);
  if (!(await stat(path)).isFile()) return undefined;
  return realpath(path);
}
