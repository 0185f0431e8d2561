// Stages a workspace package for `npm pack` with @runtimeuse/protocol bundled
// inside it (bundleDependencies), so the tarball installs with nothing fetched
// from this repository: the protocol is private to the monorepo and never
// published on its own. The layout a user gets is what a registry install of
// a published protocol package would give (node_modules/@runtimeuse/protocol
// with its dist/*.js and *.d.ts), so imports and types resolve unchanged.
import { cp, mkdir, readdir, readFile, writeFile } from "node:fs/promises";
import { dirname, join, relative } from "node:path";

const PROTOCOL = "@runtimeuse/protocol";

/**
 * Copies `packageDir` into `stageDir` as it would be published, with the
 * protocol package under its node_modules and the staged package.json
 * changed accordingly. Returns the staged package.json.
 */
export async function stageWithProtocol(root, packageDir, stageDir) {
  const manifest = await copyPublished(packageDir, stageDir);
  const protocolDir = join(root, "packages/protocol");
  const protocol = await copyPublished(protocolDir, join(stageDir, "node_modules", PROTOCOL));
  if (manifest.dependencies?.[PROTOCOL] !== protocol.version) {
    throw new Error(`${manifest.name} must depend on ${PROTOCOL} ${protocol.version} exactly`);
  }
  // A bundled package's own dependencies are not installed for it, so the
  // protocol's (zod) become the outer package's; npm hoists them beside it.
  manifest.dependencies = sorted({ ...protocol.dependencies, ...manifest.dependencies });
  manifest.bundleDependencies = [PROTOCOL];
  delete manifest.devDependencies;
  delete manifest.scripts;
  await writeFile(join(stageDir, "package.json"), `${JSON.stringify(manifest, null, 2)}\n`);
  return manifest;
}

/**
 * Copies package.json and the package's `files`. Of a tsc output folder
 * (dist/ beside src/) only the outputs of sources that still exist are
 * copied, so a renamed or deleted module left in dist/ is never published;
 * dist/bundle is rebuilt from scratch by every build and copied whole.
 */
async function copyPublished(packageDir, stageDir) {
  const manifest = JSON.parse(await readFile(join(packageDir, "package.json"), "utf8"));
  await mkdir(stageDir, { recursive: true });
  await cp(join(packageDir, "package.json"), join(stageDir, "package.json"));
  for (const entry of [...(manifest.files ?? []), "README.md"]) {
    const from = join(packageDir, entry);
    if (entry === "dist") await copyBuildOutput(packageDir, stageDir);
    else await cp(from, join(stageDir, entry), { recursive: true, force: true }).catch(ignoreMissing);
  }
  return manifest;
}

async function copyBuildOutput(packageDir, stageDir) {
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
    const target = join(stageDir, "dist", path);
    await mkdir(dirname(target), { recursive: true });
    await cp(join(dist, path), target);
  }
}

function ignoreMissing(error) {
  if (error?.code !== "ENOENT") throw error;
}

function sorted(record) {
  return Object.fromEntries(Object.entries(record).sort(([a], [b]) => a.localeCompare(b)));
}
