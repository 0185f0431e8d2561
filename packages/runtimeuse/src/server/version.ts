import { readFileSync } from "node:fs";

let cached: string | undefined;

/** The runtimeuse package version (read once from its package.json). */
export function runtimeVersion(): string {
  if (cached === undefined) {
    const url = new URL("../../package.json", import.meta.url);
    cached = (JSON.parse(readFileSync(url, "utf8")) as { version: string }).version;
  }
  return cached;
}
