import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, test } from "node:test";
import { hashFile } from "../../src/artifacts/files.js";
import { ARTIFACT_IGNORE_FILE, DEFAULT_ARTIFACT_IGNORE, IgnoreRules } from "../../src/artifacts/ignore-rules.js";
import { startHarness, waitFor } from "./support/harness.js";

async function writeTree(root: string, files: string[]): Promise<void> {
  for (const file of files) {
    await mkdir(join(root, file, ".."), { recursive: true });
    await writeFile(join(root, file), `content of ${file}`);
  }
}

const offeredNames = (root: string, offers: { filepath: string }[]) =>
  offers.map((offer) => offer.filepath.slice(root.length + 1)).sort();

describe("IgnoreRules", () => {
  test("the default list skips the usual dependency and build folders at any depth, and nothing else", async () => {
    const rules = new IgnoreRules("/w");
    await rules.configure(undefined);
    assert.equal(rules.source, "default");
    for (const dir of DEFAULT_ARTIFACT_IGNORE) {
      const name = dir.slice(0, -1);
      assert.equal(rules.ignores(`/w/${name}`, true), true, name);
      assert.equal(rules.ignores(`/w/sub/${name}/x.txt`, false), true, `${name} nested`);
      assert.equal(rules.ignores(`/w/${name}`, false), false, `a file named ${name} is kept`);
    }
    assert.equal(rules.ignores("/w/report.txt", false), false);
    assert.equal(rules.ignores("/w", true), false, "the watched directory itself");
    assert.equal(rules.ignores("/elsewhere/x", false), false);
  });

  test("the rules file is never an artifact, whatever the rules say", async () => {
    const rules = new IgnoreRules("/w");
    await rules.configure("!.artifactignore\n");
    assert.equal(rules.ignores("/w/.artifactignore", false), true);
    assert.equal(rules.ignores("/w/sub/.artifactignore", false), false, "only the one at the root is configuration");
  });

  test("a rules file that is a FIFO, or larger than 256 KiB, is not read: the default list applies", async () => {
    const root = await mkdtemp(join(tmpdir(), "rtu-ignore-"));
    try {
      const file = join(root, ARTIFACT_IGNORE_FILE);
      // Read as a file, a FIFO would wait for a writer for good; it is refused at once instead.
      execFileSync("mkfifo", [file]);
      const rules = new IgnoreRules(root);
      await rules.configure(undefined);
      assert.equal(rules.source, "default");
      await assert.rejects(hashFile(file), /not a regular file/);
      await rm(file);
      await writeFile(file, `*.log\n${"#".repeat(256 * 1024)}\n`);
      await rules.reload();
      assert.equal(rules.source, "default");
      await writeFile(file, "*.log\n");
      await rules.reload();
      assert.equal(rules.source, "file");
      assert.equal(rules.ignores(join(root, "x.log"), false), true);
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });
});

describe("ArtifactManager ignore rules", () => {
  test("without inline content or .artifactignore the default list applies", async () => {
    const h = await startHarness();
    try {
      await h.manager.watch([h.dir], undefined);
      await writeTree(h.dir, [
        "keep.txt",
        "node_modules/a/index.js",
        "pkg/dist/bundle.js",
        ".venv/bin/python",
        "src/__pycache__/m.pyc",
      ]);
      await h.manager.finish();
      assert.deepEqual(offeredNames(h.dir, h.offers), ["keep.txt"]);
    } finally {
      await h.dispose();
    }
  });

  test("a .artifactignore in the watched directory replaces the default list", async () => {
    const h = await startHarness();
    try {
      await writeFile(join(h.dir, ".artifactignore"), "*.tmp\nscratch/\n");
      await h.manager.watch([h.dir], undefined);
      await writeTree(h.dir, ["keep.txt", "x.tmp", "scratch/y.txt", "node_modules/kept.js"]);
      await h.manager.finish();
      assert.deepEqual(offeredNames(h.dir, h.offers), ["keep.txt", "node_modules/kept.js"]);
    } finally {
      await h.dispose();
    }
  });

  test("inline content beats .artifactignore and pins the rules against later changes of the file", async () => {
    const h = await startHarness();
    try {
      await writeFile(join(h.dir, ".artifactignore"), "*.txt\n");
      await h.manager.watch([h.dir], "*.log\n");
      await writeTree(h.dir, ["a.txt", "b.log"]);
      await h.manager.offerPending();
      await writeFile(join(h.dir, ".artifactignore"), "*.csv\n");
      await writeTree(h.dir, ["c.csv", "d.log"]);
      await h.manager.finish();
      assert.deepEqual(offeredNames(h.dir, h.offers), ["a.txt", "c.csv"]);
    } finally {
      await h.dispose();
    }
  });

  test("a changed .artifactignore is reloaded: new rules apply to what is written next", async () => {
    const h = await startHarness();
    try {
      await writeFile(join(h.dir, ".artifactignore"), "*.tmp\n");
      await h.manager.watch([h.dir], undefined);
      await writeTree(h.dir, ["one.tmp", "one.txt"]);
      await waitFor(() => h.offers.length === 1, "one.txt offered");
      await writeFile(join(h.dir, ".artifactignore"), "*.txt\n");
      await waitFor(() => h.logs.some((line) => line.message === "artifact ignore rules changed"), "the rules reload");
      await writeTree(h.dir, ["two.txt", "two.csv"]);
      await waitFor(() => h.offers.length >= 3, "the files written after the reload");
      await h.manager.finish();
      // one.tmp was ignored when written; the reload makes it eligible, so the reload's rescan offers it.
      assert.deepEqual(offeredNames(h.dir, h.offers), ["one.tmp", "one.txt", "two.csv"]);
    } finally {
      await h.dispose();
    }
  });

  test("removing .artifactignore brings back the default list", async () => {
    const h = await startHarness();
    try {
      await writeFile(join(h.dir, ".artifactignore"), "nothing-matches\n");
      await h.manager.watch([h.dir], undefined);
      await rm(join(h.dir, ".artifactignore"));
      await waitFor(() => h.logs.some((line) => line.message === "artifact ignore rules changed"), "the reload");
      await writeTree(h.dir, ["node_modules/x.js", "ok.txt"]);
      await h.manager.finish();
      assert.deepEqual(offeredNames(h.dir, h.offers), ["ok.txt"]);
    } finally {
      await h.dispose();
    }
  });

  test("a later request's inline content replaces the rules of a directory already watched", async () => {
    const h = await startHarness();
    try {
      await h.manager.watch([h.dir], "*.a\n");
      await writeTree(h.dir, ["x.a", "x.b"]);
      await h.manager.offerPending();
      await h.manager.watch([h.dir], "*.b\n");
      await writeTree(h.dir, ["y.a", "y.b"]);
      await h.manager.finish();
      // x.a, written this session, is no longer ignored, so it is offered like any new file.
      assert.deepEqual(offeredNames(h.dir, h.offers), ["x.a", "x.b", "y.a"]);
    } finally {
      await h.dispose();
    }
  });
});
