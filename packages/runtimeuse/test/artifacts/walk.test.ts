import assert from "node:assert/strict";
import fs, { mkdir, mkdtemp, realpath, rm, writeFile } from "node:fs/promises";
import { syncBuiltinESMExports } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, test } from "node:test";
import { walkCandidates } from "../../src/artifacts/files.js";
import { IgnoreRules } from "../../src/artifacts/ignore-rules.js";

/*
 * A directory that opens but cannot be read to the end (EACCES inside /proc,
 * EIO on a failing disk, ESTALE on NFS) is skipped like one that cannot be
 * opened: the walk goes on with the rest and never fails the request. The
 * failing read is injected into `opendir` (no filesystem here produces one
 * on demand); everything else is the real filesystem.
 */

const realOpendir = fs.opendir;
afterEach(() => {
  fs.opendir = realOpendir;
  syncBuiltinESMExports();
});

/** Directories whose listing fails with `code` after their first entry. */
function failReadingIn(broken: Set<string>, code: string): void {
  fs.opendir = (async (path: string, options?: Parameters<typeof realOpendir>[1]) => {
    const dir = await realOpendir(path, options);
    if (!broken.has(path)) return dir;
    const inner = dir[Symbol.asyncIterator]();
    let served = 0;
    return Object.assign(Object.create(dir), {
      close: () => dir.close(),
      [Symbol.asyncIterator]: () => ({
        next: async () => {
          if (served++ === 1) throw Object.assign(new Error(`${code}: cannot read ${path}`), { code });
          return inner.next();
        },
        return: async () => (await inner.return?.()) ?? { done: true, value: undefined },
      }),
    });
  }) as typeof realOpendir;
  syncBuiltinESMExports();
}

test("a directory that fails while it is listed is skipped, and the walk reports everything else", async () => {
  const root = await realpath(await mkdtemp(join(tmpdir(), "ru-walk-")));
  try {
    await mkdir(join(root, "broken"));
    await mkdir(join(root, "fine"));
    for (const name of ["a", "b", "c"]) await writeFile(join(root, "broken", name), name);
    await writeFile(join(root, "fine", "kept.txt"), "kept");
    await writeFile(join(root, "top.txt"), "top");
    failReadingIn(new Set([join(root, "broken")]), "EACCES");

    const rules = new IgnoreRules(root);
    await rules.configure(undefined);
    const seen: string[] = [];
    const count = await walkCandidates(root, root, rules, { maxFiles: 100 }, (path) => {
      seen.push(path);
      return true;
    });

    assert.ok(seen.includes(join(root, "fine", "kept.txt")));
    assert.ok(seen.includes(join(root, "top.txt")));
    // The broken directory gave its first entry, then failed: at most that one is reported.
    const fromBroken = seen.filter((path) => path.startsWith(join(root, "broken")));
    assert.ok(fromBroken.length <= 1, fromBroken.join(", "));
    assert.equal(count, seen.length);
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});
