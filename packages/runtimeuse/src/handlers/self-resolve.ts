// Read from the module object, not imported by name: on a Node without it the
// runtime must still load far enough to say which version it needs.
import nodeModule from "node:module";
import { pathToFileURL } from "node:url";

/**
 * Module resolution hooks for handler modules, run on Node's loader thread:
 *
 * - `runtimeuse` (the bare name, as a handler imports it) resolves to
 *   `data.target`, the running runtime;
 * - a `.ts`/`.tsx` file under `data.root` that Node has no format for loads
 *   as an ES module, so that its `runtimeuse` import stays an import these
 *   hooks see (typescript/ts-hooks.ts loads `.ts` files as ES modules too).
 */
const HOOKS = `
let target, root;
export function initialize(data) { target = data.target; root = data.root; }
export async function resolve(specifier, context, next) {
  if (specifier === "runtimeuse") return { url: target, shortCircuit: true };
  const resolved = await next(specifier, context);
  if (resolved.format == null && resolved.url.startsWith(root) && /\\.tsx?(\\?|$)/.test(resolved.url)) {
    return { ...resolved, format: "module" };
  }
  return resolved;
}`;

/** Defined (as true) by scripts/bundle.mjs in the bundled CLI. */
declare const RUNTIMEUSE_BUNDLE: boolean | undefined;
/** Defined (as true) by scripts/release/onefile.mjs in runtimeuse.mjs, which is the library too. */
declare const RUNTIMEUSE_ONE_FILE: boolean | undefined;

const registered = new Set<string>();

/**
 * Handler modules import `runtimeuse` (`echoHandler`, helpers, types) from a
 * folder that usually has no `node_modules`: that name resolves to the runtime
 * running them, whatever is installed next to them, so the process holds one
 * runtime. Call before the handler in `dir` is imported; once per directory.
 * The TypeScript hooks (for `.ts` handlers) defer to these.
 */
export function resolveRuntimeuseFrom(dir: string): void {
  const root = pathToFileURL(dir.endsWith("/") ? dir : `${dir}/`).href;
  if (registered.has(root)) return;
  registered.add(root);
  // The bundled CLI has the library bundled beside it, sharing its chunks (no second
  // copy to load); runtimeuse.mjs exports the library itself; elsewhere the package's
  // own name resolves through its `exports`.
  let target: string;
  try {
    if (typeof RUNTIMEUSE_ONE_FILE !== "undefined") target = import.meta.url;
    else if (typeof RUNTIMEUSE_BUNDLE !== "undefined") target = new URL("./index.js", import.meta.url).href;
    else target = import.meta.resolve("runtimeuse");
  } catch {
    // Not resolvable (an unbuilt checkout): handlers then resolve `runtimeuse` as Node would.
    return;
  }
  nodeModule.register(`data:text/javascript,${encodeURIComponent(HOOKS)}`, import.meta.url, { data: { target, root } });
}
