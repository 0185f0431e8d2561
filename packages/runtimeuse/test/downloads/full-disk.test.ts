import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { promisify } from "node:util";
import { DownloadError, downloadAll } from "../../src/downloads/index.js";
import { tarArchive, zipArchive } from "./support/archives.js";
import { TestHttpServer } from "./support/http-server.js";

const run = promisify(execFile);

/** The disk the downloads fill: a tmpfs of this size, mounted for these tests (root only). */
const DISK_BYTES = 256 * 1024;

let server: TestHttpServer;
let disk: string;
let mounted = false;
let counter = 0;
before(async () => {
  server = await TestHttpServer.start();
  disk = await mkdtemp(join(tmpdir(), "full-disk-"));
  try {
    await run("mount", ["-t", "tmpfs", "-o", `size=${DISK_BYTES}`, "tmpfs", disk]);
    mounted = true;
  } catch {
    // Not root, or no right to mount here: the tests below say so and skip.
  }
});
after(async () => {
  await server.close();
  if (mounted) await run("umount", ["-l", disk]);
  await rm(disk, { recursive: true, force: true });
});

/** Every regular file below `dir`. */
async function filesBelow(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries.filter((entry) => entry.isFile()).map((entry) => join(entry.parentPath, entry.name));
}

async function failure(promise: Promise<unknown>): Promise<DownloadError> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof DownloadError, `expected a DownloadError, got ${String(error)}`);
    return error;
  }
  assert.fail("expected the download to fail");
}

describe("downloads onto a full disk", () => {
  const random = (bytes: number) => randomBytes(bytes);
  const cases = {
    "a file larger than the disk": async () => server.file(`/disk/big-${++counter}.bin`, random(1024 * 1024)),
    "a zip that fits but whose files do not": async () =>
      server.file(
        `/disk/mid-${++counter}.zip`,
        await zipArchive([
          { path: "a.bin", body: random(100_000) },
          { path: "b.bin", body: random(100_000) },
        ]),
      ),
    "a .tar.gz that fits but whose files do not": async () =>
      server.file(
        `/disk/mid-${++counter}.tar.gz`,
        tarArchive(
          [
            { path: "dir", type: "directory" },
            { path: "dir/a.bin", body: random(100_000) },
            { path: "dir/b.bin", body: random(100_000) },
          ],
          true,
        ),
      ),
  };

  for (const [name, serve] of Object.entries(cases)) {
    test(`${name}: 'Download failed: ...ENOSPC...' (reason filesystem), nothing of it left, and the disk takes the next download`, async (t) => {
      if (!mounted) return t.skip("cannot mount a tmpfs here (needs root)");
      const work = join(disk, `work-${counter + 1}`);
      const error = await failure(downloadAll([{ download_url: await serve(), working_dir: work }]));
      assert.equal(error.reason, "filesystem");
      assert.match(error.message, /^Download failed: .*ENOSPC/);
      assert.deepEqual(await filesBelow(work), [], "the partial download and what was extracted are removed");

      const small = server.file(`/disk/small-${++counter}.txt`, "fits");
      await downloadAll([{ download_url: small, working_dir: work }]);
      assert.equal(await readFile(join(work, `small-${counter}.txt`), "utf8"), "fits");
      await rm(work, { recursive: true, force: true });
    });
  }
});
