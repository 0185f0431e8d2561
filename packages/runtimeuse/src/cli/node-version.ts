/** The oldest Node.js the runtime runs on: `module.register` (handler modules in TypeScript, self-resolution) came in 20.6. */
export const MIN_NODE_VERSION = "20.6.0";

/**
 * The line to print when `version` (default: this process's) is older than
 * `MIN_NODE_VERSION`, else undefined. Checked before anything else loads: on
 * an older Node the runtime would fail while loading, with a message about a
 * missing export rather than about the version.
 */
export function nodeTooOld(version: string = process.versions.node): string | undefined {
  const have = version.split(".").map(Number);
  const need = MIN_NODE_VERSION.split(".").map(Number);
  for (let i = 0; i < need.length; i++) {
    const a = have[i] ?? 0;
    const b = need[i] ?? 0;
    if (a > b) return undefined;
    if (a < b) return `Node.js ${version} is too old: runtimeuse needs ${MIN_NODE_VERSION} or newer`;
  }
  return undefined;
}
