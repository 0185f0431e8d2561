import { readdir, stat } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const PACKAGE = fileURLToPath(new URL("../../", import.meta.url));

/**
 * Tests that load the package by its name (`runtimeuse-client`) run its build
 * output. This fails with a clear message when `dist` is older than `src`, so
 * such a test never passes against stale code.
 */
export async function assertBuilt(): Promise<void> {
  const src = join(PACKAGE, "src");
  for (const file of await readdir(src, { recursive: true })) {
    if (!file.endsWith(".ts")) continue;
    const built = join(PACKAGE, "dist", file.replace(/\.ts$/, ".js"));
    const [source, output] = await Promise.all([stat(join(src, file)), stat(built).catch(() => undefined)]);
    if (!output || output.mtimeMs < source.mtimeMs) {
      throw new Error(`packages/client/dist is missing or older than src/${file}: run \`npm run build\` first`);
    }
  }
}
