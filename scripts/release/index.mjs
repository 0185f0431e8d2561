#!/usr/bin/env node
// `npm run release`: builds into dist/release/ everything a sandbox image needs:
//   runtimeuse-<version>.tgz         the runtime (npm), protocol bundled, no agent SDK
//   runtimeuse-client-<version>.tgz  the TypeScript client (npm), protocol bundled
//   runtimeuse_client-<version>-py3-none-any.whl, runtimeuse_client-<version>.tar.gz
//                                    the Python client
//   runtimeuse.mjs                   the runtime as one file for Node 20
// `-- --only npm,onefile,python` builds a part. Builds the TypeScript first
// (incrementally; stale outputs are never packed, see stage.mjs).
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { buildOneFile } from "./onefile.mjs";
import { buildPython } from "./python.mjs";
import { stageWithProtocol } from "./stage.mjs";

const PARTS = ["npm", "onefile", "python"];
const root = fileURLToPath(new URL("../../", import.meta.url));
const outdir = join(root, "dist/release");

const { values } = parseArgs({ options: { only: { type: "string" } } });
const parts = values.only === undefined ? PARTS : values.only.split(",");
for (const part of parts) {
  if (!PARTS.includes(part)) {
    console.error(`release: unknown part ${JSON.stringify(part)}; choose from ${PARTS.join(", ")}`);
    process.exit(2);
  }
}

execFileSync("npm", ["run", "--silent", "build"], { cwd: root, stdio: ["ignore", "ignore", "inherit"] });
if (values.only === undefined) rmSync(outdir, { recursive: true, force: true });
mkdirSync(outdir, { recursive: true });

if (parts.includes("npm")) {
  const stageRoot = mkdtempSync(join(tmpdir(), "runtimeuse-release-"));
  try {
    for (const workspace of ["packages/runtimeuse", "packages/client"]) {
      const stageDir = join(stageRoot, workspace);
      const manifest = await stageWithProtocol(root, join(root, workspace), stageDir);
      execFileSync("npm", ["pack", "--silent", "--ignore-scripts", "--pack-destination", outdir], {
        cwd: stageDir,
        stdio: ["ignore", "ignore", "inherit"],
      });
      if (!existsSync(join(outdir, `${manifest.name}-${manifest.version}.tgz`))) {
        throw new Error(`npm pack did not write ${manifest.name}-${manifest.version}.tgz`);
      }
    }
  } finally {
    rmSync(stageRoot, { recursive: true, force: true });
  }
}
if (parts.includes("onefile")) {
  await buildOneFile(root, join(outdir, "runtimeuse.mjs"));
}
if (parts.includes("python")) {
  buildPython(root, outdir);
}
for (const name of readdirSync(outdir).sort()) {
  console.log(`dist/release/${name}  ${(statSync(join(outdir, name)).size / 1e6).toFixed(2)} MB`);
}
