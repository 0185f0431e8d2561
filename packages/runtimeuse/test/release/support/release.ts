import { readdir, readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

export const ROOT = fileURLToPath(new URL("../../../../../", import.meta.url));
export const RELEASE_DIR = join(ROOT, "dist/release");

export interface ReleaseFiles {
  runtime: string;
  client: string;
  oneFile: string;
  wheel: string;
  sdist: string;
}

async function version(manifest: string): Promise<string> {
  return (JSON.parse(await readFile(join(ROOT, manifest), "utf8")) as { version: string }).version;
}

/** The paths `npm run release` writes, named from the packages' versions. */
export async function releaseFiles(): Promise<ReleaseFiles> {
  const pyproject = await readFile(join(ROOT, "python/pyproject.toml"), "utf8");
  const pyVersion = /^version = "([^"]+)"/m.exec(pyproject)?.[1];
  if (pyVersion === undefined) throw new Error("python/pyproject.toml has no version");
  return {
    runtime: join(RELEASE_DIR, `runtimeuse-${await version("packages/runtimeuse/package.json")}.tgz`),
    client: join(RELEASE_DIR, `runtimeuse-client-${await version("packages/client/package.json")}.tgz`),
    oneFile: join(RELEASE_DIR, "runtimeuse.mjs"),
    wheel: join(RELEASE_DIR, `runtimeuse_client-${pyVersion}-py3-none-any.whl`),
    sdist: join(RELEASE_DIR, `runtimeuse_client-${pyVersion}.tar.gz`),
  };
}

/**
 * The release files, failing with a clear message when one is missing or
 * older than a source it is built from (scripts/run-tests.mjs builds the
 * release once before the release tests; by hand: `npm run release`).
 */
export async function builtRelease(): Promise<ReleaseFiles> {
  const files = await releaseFiles();
  let newestSource = 0;
  for (const pkg of ["protocol", "runtimeuse", "client"]) {
    const src = join(ROOT, "packages", pkg, "src");
    for (const file of await readdir(src, { recursive: true })) {
      newestSource = Math.max(newestSource, (await stat(join(src, file))).mtimeMs);
    }
  }
  for (const file of Object.values(files)) {
    const built = await stat(file).catch(() => undefined);
    if (!built || built.mtimeMs < newestSource) {
      throw new Error(`${file} is missing or older than the sources: run \`npm run release\` first`);
    }
  }
  return files;
}
