import assert from "node:assert/strict";
import fs, { mkdir, mkdtemp, realpath, rm, writeFile } from "node:fs/promises";
import { syncBuiltinESMExports } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, test } from "node:test";
import { OPEN_RETRY_DELAYS_MS, walkCandidates } from "../../src/artifacts/files.js";
import { IgnoreRules } from "../../src/artifacts/ignore-rules.js";
import { startHarness } from "./support/harness.js";

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

/** Directories whose opening fails with `code`, the first `times` tries (every try when omitted). */
function failOpeningIn(broken: Set<string>, code: string, times = Number.POSITIVE_INFINITY): { tries: number } {
  const count = { tries: 0 };
  fs.opendir = (async (path: string, options?: Parameters<typeof realOpendir>[1]) => {
    if (broken.has(path) && count.tries++ < times) {
      throw Object.assign(new Error(`${code}: cannot open ${path}`), { code });
    }
    return realOpendir(path, options);
  }) as typeof realOpendir;
  syncBuiltinESMExports();
  return count;
}

async function walkTree(root: string): Promise<{ seen: string[]; unreadable: string[] }> {
  const rules = new IgnoreRules(root);
  await rules.configure(undefined);
  const seen: string[] = [];
  const unreadable: string[] = [];
  await walkCandidates(
    root,
    root,
    rules,
    { maxFiles: 100 },
    (path) => {
      seen.push(path);
      return true;
    },
    { unreadable: (dir, error) => unreadable.push(`${dir} ${error.code}`) },
  );
  return { seen, unreadable };
}

async function tree(): Promise<string> {
  const root = await realpath(await mkdtemp(join(tmpdir(), "ru-walk-")));
  await mkdir(join(root, "sub"));
  await writeFile(join(root, "sub", "inner.txt"), "inner");
  await writeFile(join(root, "top.txt"), "top");
  return root;
}

test("a directory that cannot be read is told, with why; the rest is still walked", async () => {
  const root = await tree();
  try {
    failOpeningIn(new Set([join(root, "sub")]), "EACCES");
    const { seen, unreadable } = await walkTree(root);
    assert.deepEqual(seen, [join(root, "top.txt")]);
    assert.deepEqual(unreadable, [`${join(root, "sub")} EACCES`]);

    failReadingIn(new Set([join(root, "sub")]), "EIO");
    const partly = await walkTree(root);
    assert.deepEqual(partly.unreadable, [`${join(root, "sub")} EIO`]);
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});

test("a directory that vanished before it was opened is not told as unreadable", async () => {
  const root = await tree();
  try {
    failOpeningIn(new Set([join(root, "sub")]), "ENOENT");
    const { seen, unreadable } = await walkTree(root);
    assert.deepEqual(seen, [join(root, "top.txt")]);
    assert.deepEqual(unreadable, []);
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});

test("out of file descriptors, opening a directory is tried again, and told only when every try failed", async () => {
  const root = await tree();
  try {
    const brief = failOpeningIn(new Set([root]), "EMFILE", OPEN_RETRY_DELAYS_MS.length);
    const recovered = await walkTree(root);
    assert.equal(brief.tries, OPEN_RETRY_DELAYS_MS.length + 1);
    assert.deepEqual(recovered.seen.sort(), [join(root, "sub", "inner.txt"), join(root, "top.txt")]);
    assert.deepEqual(recovered.unreadable, []);

    const lasting = failOpeningIn(new Set([root]), "EMFILE");
    const lost = await walkTree(root);
    assert.equal(lasting.tries, OPEN_RETRY_DELAYS_MS.length + 1);
    assert.deepEqual(lost.seen, []);
    assert.deepEqual(lost.unreadable, [`${root} EMFILE`]);
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});

test("the artifacts manager logs an unreadable directory once, however often it looks again", async () => {
  const h = await startHarness();
  try {
    await mkdir(join(h.dir, "locked"));
    failOpeningIn(new Set([join(h.dir, "locked")]), "EACCES");
    await h.manager.watch([h.dir], undefined);
    await writeFile(join(h.dir, "free.txt"), "free");
    const manifest = await h.manager.finish();
    assert.deepEqual(
      manifest.map((entry) => entry.filepath),
      [join(h.dir, "free.txt")],
    );
    const told = h.logs.filter((line) => line.message.startsWith("artifacts directory cannot be read"));
    assert.equal(told.length, 1, JSON.stringify(h.logs));
    assert.equal(told[0]?.level, "warn");
    assert.equal(told[0]?.fields?.dir, join(h.dir, "locked"));
    assert.match(String(told[0]?.fields?.error), /EACCES/);
  } finally {
    await h.dispose();
  }
});
