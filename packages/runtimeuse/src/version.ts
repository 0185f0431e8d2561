import { readFileSync } from "node:fs";

/** Set by the builds that move this code away from the package root (the bundle and the one-file build). */
declare const __RUNTIMEUSE_VERSION__: string | undefined;

let cached: string | undefined;

/** The runtimeuse package version (read once from its package.json). */
export function runtimeVersion(): string {
  if (cached === undefined) {
    if (typeof __RUNTIMEUSE_VERSION__ === "string") {
      cached = __RUNTIMEUSE_VERSION__;
    } else {
      const url = new URL("../package.json", import.meta.url);
      cached = (JSON.parse(readFileSync(url, "utf8")) as { version: string }).version;
    }
  }
  return cached;
}
