import { dirname } from "node:path";
import { pathToFileURL } from "node:url";
import { type AgentHandler, isClass, toAgentHandler } from "../handler.js";
import { locateHandlerModule } from "./locate.js";
import { resolveRuntimeuseFrom } from "./self-resolve.js";
import { enableTypeScriptImports } from "./typescript/register.js";

/** A handler module that cannot be used; the message is one line for the user. */
export class HandlerLoadError extends Error {
  override readonly name = "HandlerLoadError";
}

function isHandlerLike(value: unknown): value is AgentHandler | AgentHandler["run"] {
  if (typeof value === "function") return true;
  return typeof value === "object" && value !== null && typeof (value as { run?: unknown }).run === "function";
}

/**
 * Loads a custom handler module (a file, a package's directory or an
 * installed package's name: see `locateHandlerModule`): its default export or
 * its named export `handler`, an object with `run(invocation, sender)`, a bare
 * function, or a class whose instances have `run` (made once, here, with no
 * arguments).
 * `.ts`, `.mts` and `.cts` files load without a build step (see typescript/ts-hooks.ts);
 * `.ts` and `.mts` ones load as ES modules whatever their folder's `package.json` says.
 * `import ... from "runtimeuse"` in it gets the running runtime.
 */
export async function loadHandlerModule(path: string, cwd = process.cwd()): Promise<AgentHandler> {
  const located = await locateHandlerModule(path, cwd);
  if ("error" in located) throw new HandlerLoadError(located.error);
  const { file } = located;
  const typescript = /\.[mc]?ts$/.test(file);
  // The hooks cost a loader thread at startup: a handler that cannot ask for them goes without.
  if (typescript || (await (await import("./import-scan.js")).mayReachRuntimeuse(file))) {
    resolveRuntimeuseFrom(dirname(file));
  }
  const url = pathToFileURL(file).href;
  let module: Record<string, unknown>;
  try {
    if (typescript) enableTypeScriptImports();
    module = (await import(url)) as Record<string, unknown>;
  } catch (error) {
    throw new HandlerLoadError(
      `cannot load handler ${file}: ${error instanceof Error ? error.message : String(error)}`,
    );
  }
  // A CommonJS module may nest the default export one level down.
  const candidates = [module.default, module.handler, (module.default as { default?: unknown } | undefined)?.default];
  const found = candidates.find(isHandlerLike);
  if (!found) {
    throw new HandlerLoadError(
      `${file} exports no handler: export default (or export const handler) an object with run(invocation, sender), an async function, or a class whose instances have run`,
    );
  }
  return toAgentHandler(isClass(found) ? instantiate(found, file) : found);
}

/** The one instance of a handler class the module exports. */
function instantiate(handlerClass: abstract new (...args: never[]) => unknown, file: string): AgentHandler {
  const made = handlerClass.name ? `new ${handlerClass.name}()` : "its constructor";
  if (typeof (handlerClass.prototype as { run?: unknown } | undefined)?.run !== "function") {
    throw new HandlerLoadError(
      `${file} exports ${handlerClass.name ? `the class ${handlerClass.name}` : "a class"}, whose instances have no run(invocation, sender) method`,
    );
  }
  let instance: unknown;
  try {
    instance = new (handlerClass as new () => unknown)();
  } catch (error) {
    throw new HandlerLoadError(
      `cannot load handler ${file}: ${made} threw: ${error instanceof Error ? error.message : String(error)}`,
    );
  }
  if (!isHandlerLike(instance) || typeof instance === "function") {
    throw new HandlerLoadError(`${file}: ${made} gave no object with a run(invocation, sender) method`);
  }
  return instance;
}
