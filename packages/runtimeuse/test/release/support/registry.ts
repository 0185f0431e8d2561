import { lstatSync, readdirSync, readFileSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { create as createTar } from "tar";

/** A package folder installed somewhere under the monorepo's node_modules. */
interface Installed {
  manifest: Record<string, unknown> & { name: string; version: string };
  dir: string;
}

export interface LocalRegistry {
  /** `http://127.0.0.1:PORT/`, for npm's `--registry`. */
  url: string;
  /** Every package name npm asked for, in order. */
  requested: string[];
  close(): Promise<void>;
}

/**
 * An npm registry on 127.0.0.1 that serves the packages installed under
 * `root`/node_modules (every version found, nested ones included), each
 * packed on request from its installed folder. Installs from it resolve
 * version ranges the way they do against the public registry, with no network:
 * what a user's `npm install` of a release tarball does, made repeatable here.
 * Unknown names and this monorepo's own workspace packages get 404.
 */
export async function startLocalRegistry(root: string): Promise<LocalRegistry> {
  const packages = indexInstalled(join(root, "node_modules"));
  const requested: string[] = [];
  const server = createServer((request, response) => {
    const url = new URL(request.url ?? "/", "http://registry");
    const tarball = /^\/-\/tarball\/(.+)\/([^/]+)\.tgz$/.exec(url.pathname);
    if (tarball) {
      const found = packages.get(decodeURIComponent(tarball[1] as string))?.get(tarball[2] as string);
      if (!found) return void response.writeHead(404).end();
      response.writeHead(200, { "content-type": "application/octet-stream" });
      // Stored, not compressed: the tarball crosses loopback and is unpacked
      // at once, and compressing Claude Code's ~200 MB binary costs seconds.
      createTar({ gzip: { level: 0 }, cwd: found.dir, prefix: "package", portable: true, filter: notNested }, [
        ...readdirSync(found.dir).filter((entry) => entry !== "node_modules"),
      ]).pipe(response);
      return;
    }
    const name = decodeURIComponent(url.pathname.slice(1));
    requested.push(name);
    const versions = packages.get(name);
    if (!versions)
      return void response.writeHead(404, { "content-type": "application/json" }).end('{"error":"Not found"}');
    const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const entries = [...versions.values()].map(({ manifest }) => [
      manifest.version,
      { ...manifest, dist: { tarball: `${origin}/-/tarball/${encodeURIComponent(name)}/${manifest.version}.tgz` } },
    ]);
    const latest = [...versions.keys()].sort(compareVersions).at(-1);
    response.writeHead(200, { "content-type": "application/json" });
    response.end(JSON.stringify({ name, "dist-tags": { latest }, versions: Object.fromEntries(entries) }));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`,
    requested,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function notNested(path: string): boolean {
  return !path.split("/").includes("node_modules");
}

/** name -> version -> installed folder, for every package under `nodeModules`, nested node_modules included. */
function indexInstalled(nodeModules: string, into = new Map<string, Map<string, Installed>>()) {
  for (const entry of safeReaddir(nodeModules)) {
    if (entry.startsWith(".")) continue;
    const dirs = entry.startsWith("@")
      ? safeReaddir(join(nodeModules, entry)).map((name) => join(nodeModules, entry, name))
      : [join(nodeModules, entry)];
    for (const dir of dirs) {
      // Workspace packages are links into packages/: never served, as they are not on the registry.
      if (lstatSync(dir).isSymbolicLink()) continue;
      let manifest: Installed["manifest"];
      try {
        manifest = JSON.parse(readFileSync(join(dir, "package.json"), "utf8"));
      } catch {
        continue;
      }
      if (typeof manifest.name !== "string" || typeof manifest.version !== "string") continue;
      if (!into.has(manifest.name)) into.set(manifest.name, new Map());
      into.get(manifest.name)?.set(manifest.version, { manifest, dir });
      indexInstalled(join(dir, "node_modules"), into);
    }
  }
  return into;
}

function safeReaddir(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

function compareVersions(a: string, b: string): number {
  const parts = (version: string) => version.split(/[.+-]/).map((part) => Number.parseInt(part, 10) || 0);
  const [x, y] = [parts(a), parts(b)];
  for (let i = 0; i < Math.max(x.length, y.length); i++) {
    const diff = (x[i] ?? 0) - (y[i] ?? 0);
    if (diff !== 0) return diff;
  }
  return 0;
}
