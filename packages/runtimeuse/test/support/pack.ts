import { execFile } from "node:child_process";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL("../../../../", import.meta.url));

/** `npm pack`s each workspace (e.g. "packages/protocol") into `dir`; returns the tarballs' paths, in order. */
export async function packWorkspaces(dir: string, workspaces: readonly string[]): Promise<string[]> {
  const tarballs: string[] = [];
  for (const workspace of workspaces) {
    const { stdout } = await run("npm", ["pack", "--silent", "--pack-destination", dir, "-w", workspace], {
      cwd: ROOT,
    });
    tarballs.push(join(dir, stdout.trim().split("\n").at(-1) as string));
  }
  return tarballs;
}
