import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { lstat, mkdir, mkdtemp, readdir, readFile, readlink, rm, stat, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { DownloadError, type DownloadLimits, downloadAll } from "../../src/downloads/index.js";
import { waitFor } from "../commands/support/processes.js";
import { type ArchiveEntry, tarArchive, zipArchive } from "./support/archives.js";
import { TestHttpServer } from "./support/http-server.js";

let server: TestHttpServer;
let scratch: string;
let counter = 0;
before(async () => {
  server = await TestHttpServer.start();
  scratch = await mkdtemp(join(tmpdir(), "archives-"));
});
after(async () => {
  await server.close();
  await rm(scratch, { recursive: true, force: true });
});

/** A fresh layout: base/work (the working_dir) next to base/outside, which must never change. */
async function layout() {
  const base = join(scratch, `case-${++counter}`);
  const work = join(base, "work");
  const outside = join(base, "outside");
  await mkdir(outside, { recursive: true });
  await writeFile(join(outside, "keep.txt"), "untouched");
  return { base, work, outside };
}

async function assertNothingOutside(dirs: { base: string; outside: string }): Promise<void> {
  assert.deepEqual((await readdir(dirs.base)).sort(), ["outside", "work"]);
  assert.deepEqual(await readdir(dirs.outside), ["keep.txt"]);
  assert.equal(await readFile(join(dirs.outside, "keep.txt"), "utf8"), "untouched");
}

const formats = {
  zip: { suffix: ".zip", build: (entries: ArchiveEntry[], raw?: Record<string, string>) => zipArchive(entries, raw) },
  "tar.gz": {
    suffix: ".tar.gz",
    build: async (entries: ArchiveEntry[], raw?: Record<string, string>) =>
      tarArchive(
        entries.map((entry) => ({ ...entry, path: raw?.[entry.path] ?? entry.path })),
        true,
      ),
  },
} as const;

async function extract(archive: Buffer, suffix: string, work: string, limits?: Partial<DownloadLimits>) {
  const url = server.file(`/archives/archive-${counter}${suffix}`, archive);
  return downloadAll([{ download_url: url, working_dir: work }], limits ? { limits } : {});
}

async function refusal(promise: Promise<unknown>): Promise<DownloadError> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof DownloadError, `expected a DownloadError, got ${String(error)}`);
    // Every download error, whatever its reason, reads as runtime 0.15.1's did.
    assert.ok(error.message.startsWith("Download failed: "), error.message);
    return error;
  }
  assert.fail("expected the archive to be refused");
}

for (const [format, { suffix, build }] of Object.entries(formats)) {
  describe(`${format} archives`, () => {
    test(`a normal ${format} is extracted into working_dir and then removed`, async () => {
      const dirs = await layout();
      const archive = await build([
        { path: "a.txt", body: "alpha" },
        { path: "dir/", type: "directory" },
        { path: "dir/b.txt", body: "beta" },
        { path: "empty/", type: "directory" },
        { path: "dir/link", type: "symlink", linkpath: "b.txt" },
        { path: "dir/up", type: "symlink", linkpath: "../a.txt" },
        { path: "run.sh", body: "#!/bin/sh\necho hi\n", mode: 0o100755 },
        { path: "deep/er/c.txt", body: "gamma" },
      ]);
      const [result] = await extract(archive, suffix, dirs.work);
      assert.equal(result?.extracted?.entries, 8);
      assert.deepEqual((await readdir(dirs.work)).sort(), ["a.txt", "deep", "dir", "empty", "run.sh"]);
      assert.equal(await readFile(join(dirs.work, "a.txt"), "utf8"), "alpha");
      assert.equal(await readFile(join(dirs.work, "dir/b.txt"), "utf8"), "beta");
      assert.equal(await readFile(join(dirs.work, "deep/er/c.txt"), "utf8"), "gamma");
      assert.equal(await readlink(join(dirs.work, "dir/link")), "b.txt");
      assert.equal(await readFile(join(dirs.work, "dir/up"), "utf8"), "alpha");
      assert.ok((await stat(join(dirs.work, "empty"))).isDirectory());
      assert.ok(((await stat(join(dirs.work, "run.sh"))).mode & 0o100) !== 0, "the executable bit is kept");
      await assertNothingOutside(dirs);
    });

    test(`a ${format} entry with ../ is refused and nothing is written outside`, async () => {
      const dirs = await layout();
      const archive = await build(
        [
          { path: "ok.txt", body: "fine" },
          { path: "xx/outside/evil.txt", body: "evil" },
        ],
        {
          "xx/outside/evil.txt": "../outside/evil.txt",
        },
      );
      const error = await refusal(extract(archive, suffix, dirs.work));
      assert.equal(error.reason, "archive_entry_refused");
      assert.match(error.message, /"\.\.\/outside\/evil\.txt" refused: the path leaves the working directory/);
      await assertNothingOutside(dirs);
    });

    test(`a ${format} entry with an absolute path is refused and nothing is written outside`, async () => {
      const dirs = await layout();
      const absolute = join(dirs.outside, "abs.txt");
      const placeholder = `x${absolute.slice(1)}`;
      const archive = await build([{ path: placeholder, body: "evil" }], { [placeholder]: absolute });
      const error = await refusal(extract(archive, suffix, dirs.work));
      assert.match(error.message, /absolute path/);
      await assertNothingOutside(dirs);
    });

    test(`a ${format} symlink pointing outside, then a write through it, is refused`, async () => {
      for (const linkpath of ["../outside", "/"]) {
        const dirs = await layout();
        const target = linkpath === "/" ? dirs.outside : linkpath;
        const archive = await build([
          { path: "evil", type: "symlink", linkpath: target },
          { path: "evil/pwned.txt", body: "evil" },
        ]);
        const error = await refusal(extract(archive, suffix, dirs.work));
        assert.equal(error.reason, "archive_entry_refused");
        assert.match(error.message, /"evil" refused: symlink (points outside|to an absolute path)/);
        await assertNothingOutside(dirs);
      }
    });

    test(`a ${format} write through a symlink created earlier is refused even when the link points inside`, async () => {
      const dirs = await layout();
      const archive = await build([
        { path: "sub/", type: "directory" },
        { path: "inside", type: "symlink", linkpath: "sub" },
        { path: "inside/pwned.txt", body: "through the link" },
      ]);
      const error = await refusal(extract(archive, suffix, dirs.work));
      assert.match(error.message, /"inside\/pwned\.txt" refused: it would be written through the symlink inside/);
      assert.deepEqual(await readdir(join(dirs.work, "sub")), []);
      await assertNothingOutside(dirs);
    });

    test(`a ${format} entry is not written through a symlink planted in working_dir before`, async () => {
      const dirs = await layout();
      await mkdir(dirs.work);
      await symlink(dirs.outside, join(dirs.work, "planted"));
      await symlink(join(dirs.outside, "keep.txt"), join(dirs.work, "keep.txt"));
      const overwrite = await build([{ path: "keep.txt", body: "replaced the link, not the target" }]);
      await extract(overwrite, suffix, dirs.work);
      assert.equal((await lstat(join(dirs.work, "keep.txt"))).isFile(), true);
      const through = await build([{ path: "planted/pwned.txt", body: "evil" }]);
      const error = await refusal(extract(through, suffix, dirs.work));
      assert.match(error.message, /written through the symlink planted/);
      await assertNothingOutside(dirs);
    });

    test(`a ${format} bomb stops with a clear error and leaves none of its output`, async () => {
      const dirs = await layout();
      const archive = await build([{ path: "bomb.bin", body: Buffer.alloc(100 * 1024 * 1024) }]);
      assert.ok(archive.length < 1024 * 1024, "the archive is small");
      const error = await refusal(extract(archive, suffix, dirs.work));
      assert.equal(error.reason, "archive_limit");
      assert.match(error.message, /compression ratio above 200 .*zip bomb/);
      assert.deepEqual(await readdir(dirs.work), []);
      await assertNothingOutside(dirs);
    });

    test(`a ${format} with more entries than the limit is refused`, async () => {
      const dirs = await layout();
      const entries = Array.from({ length: 10 }, (_, i) => ({ path: `f${i}.txt`, body: "x" }));
      const error = await refusal(extract(await build(entries), suffix, dirs.work, { maxEntries: 5 }));
      assert.equal(error.reason, "archive_limit");
      assert.match(error.message, /more than 5 entries/);
    });

    test(`a ${format} that expands past the total size limit is refused`, async () => {
      const dirs = await layout();
      const entries = [
        { path: "one.bin", body: randomBytes(800) },
        { path: "two.bin", body: randomBytes(800) },
      ];
      const error = await refusal(extract(await build(entries), suffix, dirs.work, { maxExtractedBytes: 1000 }));
      assert.match(error.message, /expands to more than 1000 bytes/);
      assert.deepEqual(await readdir(dirs.work), ["one.bin"]);
    });

    test(`a corrupt ${format} gives a clear error and the download is removed`, async () => {
      const dirs = await layout();
      const error = await refusal(extract(randomBytes(4096), suffix, dirs.work));
      assert.equal(error.reason, "archive_invalid");
      assert.match(error.message, /is not a valid (zip|tar) file/);
      assert.deepEqual(await readdir(dirs.work), []);
    });
  });
}

describe("tar specifics", () => {
  test("hard links inside the archive work; hard links outside are refused", async () => {
    const dirs = await layout();
    const good = tarArchive(
      [
        { path: "data.txt", body: "shared" },
        { path: "copy.txt", type: "hardlink", linkpath: "data.txt" },
      ],
      false,
    );
    await extract(good, ".tar", dirs.work);
    assert.equal((await stat(join(dirs.work, "copy.txt"))).ino, (await stat(join(dirs.work, "data.txt"))).ino);
    for (const linkpath of ["../outside/keep.txt", join(dirs.outside, "keep.txt")]) {
      const bad = tarArchive([{ path: "stolen.txt", type: "hardlink", linkpath }], true);
      const error = await refusal(extract(bad, ".tgz", dirs.work));
      assert.match(error.message, /hard link points outside the working directory/);
    }
    await assertNothingOutside(dirs);
  });

  test("a plain .tar and a .tgz extract the same way", async () => {
    const entries = [{ path: "x/y.txt", body: "why" }];
    for (const [suffix, gzip] of [
      [".tar", false],
      [".tgz", true],
    ] as const) {
      const dirs = await layout();
      await extract(tarArchive(entries, gzip), suffix, dirs.work);
      assert.equal(await readFile(join(dirs.work, "x/y.txt"), "utf8"), "why");
      assert.deepEqual(await readdir(dirs.work), ["x"]);
    }
  });

  test("extraction yields to the event loop while it works", async () => {
    const dirs = await layout();
    const entries = Array.from({ length: 16 }, (_, i) => ({
      path: `part-${i}.bin`,
      body: randomBytes(2 * 1024 * 1024),
    }));
    const archive = tarArchive(entries, true);
    let turns = 0;
    let running = true;
    const spin = () => {
      turns++;
      if (running) setImmediate(spin);
    };
    setImmediate(spin);
    await extract(archive, ".tar.gz", dirs.work);
    running = false;
    assert.equal((await readdir(dirs.work)).length, 16);
    assert.ok(turns >= 32, `the event loop turned ${turns} times during the extraction`);
  });

  test("cancel during extraction stops it and removes the archive", async () => {
    const dirs = await layout();
    const entries = Array.from({ length: 64 }, (_, i) => ({ path: `part-${i}.bin`, body: randomBytes(1024 * 1024) }));
    const url = server.file("/archives/cancel.tar", tarArchive(entries, false));
    const controller = new AbortController();
    const run = downloadAll([{ download_url: url, working_dir: dirs.work }], { signal: controller.signal });
    run.catch(() => {});
    await waitFor(
      async () => (await readdir(dirs.work).catch(() => [])).some((name) => name.startsWith("part-")),
      "extraction to start",
    );
    controller.abort();
    const error = await refusal(run);
    assert.equal(error.reason, "cancelled");
    const left = await readdir(dirs.work);
    assert.equal(
      left.some((name) => name.endsWith(".download") || name === "cancel.tar"),
      false,
    );
    assert.ok(left.length < 64);
  });
});

describe("zip specifics", () => {
  test("backslash separators from Windows zips are folders, and ..\\ is refused like ../", async () => {
    const dirs = await layout();
    const windows = await zipArchive([{ path: "dir/file.txt", body: "win" }], { "dir/file.txt": "dir\\file.txt" });
    await extract(windows, ".zip", dirs.work);
    assert.equal(await readFile(join(dirs.work, "dir", "file.txt"), "utf8"), "win");
    const evil = await zipArchive([{ path: "xx/outside/w.txt", body: "evil" }], {
      "xx/outside/w.txt": "..\\outside\\w.txt",
    });
    const error = await refusal(extract(evil, ".zip", dirs.work));
    assert.match(error.message, /leaves the working directory/);
    await assertNothingOutside(dirs);
  });
});
