import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { promisify } from "node:util";
import { runCommand } from "../../src/commands/runner.js";
import { DownloadError, downloadAll } from "../../src/downloads/index.js";
import { makeDirectory } from "../../src/make-directory.js";
import { startHarness } from "../artifacts/support/harness.js";

/*
 * A read-only tmpfs, mounted for these tests (root only; they skip
 * otherwise). Linux answers a mkdir there with ENOENT, which named no reason.
 */
const run = promisify(execFile);
let base: string;
let readOnly: string;
let mounted = false;
before(async () => {
  base = await mkdtemp(join(tmpdir(), "make-dir-"));
  readOnly = join(base, "ro");
  await mkdir(readOnly);
  try {
    await run("mount", ["-t", "tmpfs", "-o", "ro,size=64k", "tmpfs", readOnly]);
    mounted = true;
  } catch {}
});
after(async () => {
  if (mounted) await run("umount", ["-l", readOnly]);
  await rm(base, { recursive: true, force: true });
});

test("a directory on a read-only file system: the error says so, with EROFS", async (t) => {
  if (!mounted) return t.skip("needs root to mount a tmpfs");
  for (const path of [join(readOnly, "one"), join(readOnly, "one", "two", "three")]) {
    await assert.rejects(makeDirectory(path), (error: NodeJS.ErrnoException) => {
      assert.equal(error.code, "EROFS");
      assert.equal(error.message, `read-only file system: ${readOnly} cannot be written to (EROFS)`);
      return true;
    });
  }
});

test("a command's cwd and a download's working_dir there name the read-only file system", async (t) => {
  if (!mounted) return t.skip("needs root to mount a tmpfs");
  const outcome = await runCommand({ command: "true", cwd: join(readOnly, "work") });
  assert.equal(outcome.exitCode, 127);
  assert.match(outcome.stderr, /^cannot create cwd .*\/ro\/work: read-only file system: .*\/ro cannot be written to/);

  const failed = await downloadAll([
    { download_url: "http://127.0.0.1:9/never-fetched.txt", working_dir: join(readOnly, "downloads") },
  ]).then(
    () => assert.fail("expected the download to fail"),
    (error: unknown) => error,
  );
  assert.ok(failed instanceof DownloadError, String(failed));
  assert.match(failed.message, /^Download failed: cannot create working_dir .*\/ro\/downloads: read-only file system/);
});

test("an artifacts directory there names the read-only file system", async (t) => {
  if (!mounted) return t.skip("needs root to mount a tmpfs");
  const h = await startHarness();
  try {
    await assert.rejects(h.manager.watch([join(readOnly, "artifacts")], undefined), (error: Error) => {
      assert.match(error.message, /ro\/artifacts.*read-only file system: .*\/ro cannot be written to \(EROFS\)/);
      return true;
    });
  } finally {
    await h.dispose();
  }
});

test("elsewhere it creates the directories, and other failures keep the system's own error", async () => {
  const deep = join(base, "a", "b", "c");
  await makeDirectory(deep);
  await makeDirectory(deep); // already there: fine
  await assert.rejects(makeDirectory(join("/dev/null", "x")), { code: "ENOTDIR" });
});
