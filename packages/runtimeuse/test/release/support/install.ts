import { execFile } from "node:child_process";
import { join } from "node:path";
import { promisify } from "node:util";
import type { LocalRegistry } from "./registry.js";

const run = promisify(execFile);

/** The most a runtime install without agent SDKs may take on disk (the install test and `npm run bench` check it). */
export const SLIM_INSTALL_LIMIT_BYTES = 40_000_000;

/**
 * Runs `npm <args>` against the local registry with its own cache folder,
 * as a user's npm would against the public one; fails with npm's output.
 */
export async function npm(
  args: string[],
  registry: LocalRegistry,
  cache: string,
  cwd?: string,
): Promise<{ stdout: string; stderr: string }> {
  try {
    return await run("npm", [...args, "--no-audit", "--no-fund", "--no-update-notifier"], {
      cwd,
      timeout: 240_000,
      maxBuffer: 16 * 1024 * 1024,
      env: { ...process.env, npm_config_registry: registry.url, npm_config_cache: cache },
    });
  } catch (error) {
    const { stdout, stderr } = error as { stdout?: string; stderr?: string };
    throw new Error(`npm ${args.join(" ")} failed: ${(stderr || stdout || String(error)).slice(-4000)}`);
  }
}

/** Installs the release tarball globally into `prefix` (`npm install -g`); returns the `runtimeuse` bin. */
export async function installRuntime(
  tarball: string,
  prefix: string,
  registry: LocalRegistry,
  cache: string,
): Promise<string> {
  await npm(["install", "--global", "--prefix", prefix, tarball], registry, cache);
  return join(prefix, "bin", "runtimeuse");
}

/** Bytes of disk that everything under `path` takes (`du -sk`: whole blocks, not file lengths). */
export async function diskUsage(path: string): Promise<number> {
  const { stdout } = await run("du", ["-sk", path]);
  return Number.parseInt(stdout, 10) * 1024;
}
