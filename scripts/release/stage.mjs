// Stages a workspace package for `npm pack` with @runtimeuse/protocol inlined:
// the protocol is private to the monorepo and never published on its own, so
// its build output is copied into the package (dist/protocol/) and every
// import of "@runtimeuse/protocol" in the package's .js and .d.ts files is
// rewritten to a relative path there; the protocol's own dependency (zod)
// becomes the package's. The tarball then installs with nothing fetched from
// this repository, in every npm layout. (bundleDependencies was tried first:
// in a global install npm takes the bundled package's dependencies for part of
// the bundle and leaves zod an empty folder.)
import { cp, mkdir, readdir, readFile, writeFile } from "node:fs/promises";
import { dirname, join, relative } from "node:path";

const PROTOCOL = "@runtimeuse/protocol";
const PROTOCOL_IMPORT = /(["'])@runtimeuse\/protocol\1/g;

/**
 * Copies `packageDir` into `stageDir` as it would be published, with the
 * protocol inlined as described above. Returns the staged package.json.
 */
export async function stageWithProtocol(root, packageDir, stageDir) {
  const manifest = await copyPublished(packageDir, stageDir);
  const protocolDir = join(root, "packages/protocol");
  const protocol = JSON.parse(await readFile(join(protocolDir, "package.json"), "utf8"));
  if (manifest.dependencies?.[PROTOCOL] !== protocol.version) {
    throw new Error(`${manifest.name} must depend on ${PROTOCOL} ${protocol.version} exactly`);
  }
  await copyBuildOutput(protocolDir, join(stageDir, "dist", "protocol"));
  await rewriteProtocolImports(join(stageDir, "dist"));
  const { [PROTOCOL]: _inlined, ...dependencies } = manifest.dependencies;
  manifest.dependencies = sorted({ ...protocol.dependencies, ...dependencies });
  delete manifest.devDependencies;
  delete manifest.scripts;
  await writeFile(join(stageDir, "package.json"), `${JSON.stringify(manifest, null, 2)}\n`);
  return manifest;
}

/** Points every "@runtimeuse/protocol" import under `dist` at dist/protocol/index.js; fails if one is left. */
async function rewriteProtocolImports(dist) {
  for (const file of await readdir(dist, { recursive: true })) {
    if (!/\.(js|d\.ts)$/.test(file) || file.startsWith(`protocol/`)) continue;
    const path = join(dist, file);
    const text = await readFile(path, "utf8");
    let target = relative(dirname(path), join(dist, "protocol", "index.js"));
    if (!target.startsWith(".")) target = `./${target}`;
    const rewritten = text.replace(PROTOCOL_IMPORT, (_match, quote) => `${quote}${target}${quote}`);
    if (rewritten !== text) await writeFile(path, rewritten);
    if (rewritten.includes(PROTOCOL)) throw new Error(`${file} still names ${PROTOCOL} after the rewrite`);
  }
}

/** Copies package.json and the package's `files`; `dist` through copyBuildOutput. */
async function copyPublished(packageDir, stageDir) {
  const manifest = JSON.parse(await readFile(join(packageDir, "package.json"), "utf8"));
  await mkdir(stageDir, { recursive: true });
  for (const entry of [...(manifest.files ?? []), "README.md"]) {
    if (entry === "dist") await copyBuildOutput(packageDir, join(stageDir, "dist"));
    else
      await cp(join(packageDir, entry), join(stageDir, entry), { recursive: true, force: true }).catch(ignoreMissing);
  }
  return manifest;
}

/**
 * Copies `packageDir`/dist to `target`: of the tsc output only the files of
 * sources that still exist, so a renamed or deleted module left in dist/ is
 * never published; dist/bundle is rebuilt from scratch by every build and
 * copied whole.
 */
async function copyBuildOutput(packageDir, target) {
  const dist = join(packageDir, "dist");
  const sources = new Set(
    (await readdir(join(packageDir, "src"), { recursive: true }))
      .filter((file) => file.endsWith(".ts"))
      .map((file) => file.replace(/\.ts$/, "")),
  );
  for (const file of await readdir(dist, { recursive: true, withFileTypes: true })) {
    if (!file.isFile()) continue;
    const path = relative(dist, join(file.parentPath, file.name));
    const fromBundle = path.startsWith(`bundle/`);
    const fromSource = sources.has(path.replace(/\.(js|d\.ts)(\.map)?$/, ""));
    if (!fromBundle && !fromSource) continue;
    await mkdir(dirname(join(target, path)), { recursive: true });
    await cp(join(dist, path), join(target, path));
  }
}

function ignoreMissing(error) {
  if (error?.code !== "ENOENT") throw error;
}

function sorted(record) {
  return Object.fromEntries(Object.entries(record).sort(([a], [b]) => a.localeCompare(b)));
}
