import assert from "node:assert/strict";
import { mkdir, symlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, test } from "node:test";
import { entryFor, startHarness, waitFor } from "./support/harness.js";
import { sha256 } from "./support/put-sink.js";

describe("ArtifactManager offers", () => {
  test("a file written under a watched directory is offered once and uploaded with its bytes", async () => {
    const h = await startHarness();
    try {
      const out = join(h.dir, "out");
      await h.manager.watch([out], undefined);
      const file = join(out, "report.txt");
      await writeFile(file, "hello artifacts\n");
      await waitFor(() => h.sink.uploadsOf(file).length === 1, "the upload of report.txt");
      assert.deepEqual(h.offers, [{ filename: "report.txt", filepath: file }]);
      const [upload] = h.sink.uploadsOf(file);
      assert.equal(upload?.body?.toString(), "hello artifacts\n");
      assert.equal(upload?.contentType, "text/plain");
      assert.equal(upload?.contentLength, "16");
      const manifest = await h.manager.finish();
      assert.deepEqual(manifest, [{ filepath: file, size: 16, status: "uploaded" }]);
      assert.equal(h.offers.length, 1, "finish's rescan must not offer an uploaded file again");
    } finally {
      await h.dispose();
    }
  });

  test("watch creates a missing directory and files in nested folders are offered by full path", async () => {
    const h = await startHarness();
    try {
      const out = join(h.dir, "does", "not", "exist");
      await h.manager.watch([out], undefined);
      const deep = join(out, "a", "b", "c");
      await mkdir(deep, { recursive: true });
      await writeFile(join(deep, "deep.bin"), Buffer.alloc(1000, 7));
      await waitFor(() => h.sink.uploadsOf(join(deep, "deep.bin")).length === 1, "the nested upload");
      assert.deepEqual(h.offers, [{ filename: "deep.bin", filepath: join(deep, "deep.bin") }]);
      assert.equal(h.sink.uploadsOf(join(deep, "deep.bin"))[0]?.sha256, sha256(Buffer.alloc(1000, 7)));
    } finally {
      await h.dispose();
    }
  });

  test("the same base name in two folders is two artifacts, each uploaded with its own bytes", async () => {
    const h = await startHarness();
    try {
      await h.manager.watch([h.dir], undefined);
      await mkdir(join(h.dir, "a"));
      await mkdir(join(h.dir, "b"));
      await writeFile(join(h.dir, "a", "out.txt"), "from a");
      await writeFile(join(h.dir, "b", "out.txt"), "from b, longer");
      const manifest = await h.manager.finish();
      assert.equal(h.sink.uploadsOf(join(h.dir, "a", "out.txt"))[0]?.body?.toString(), "from a");
      assert.equal(h.sink.uploadsOf(join(h.dir, "b", "out.txt"))[0]?.body?.toString(), "from b, longer");
      assert.equal(h.sink.uploads.length, 2);
      assert.deepEqual(manifest.map((entry) => [entry.filepath, entry.size, entry.status]).sort(), [
        [join(h.dir, "a", "out.txt"), 6, "uploaded"],
        [join(h.dir, "b", "out.txt"), 14, "uploaded"],
      ]);
    } finally {
      await h.dispose();
    }
  });

  test("a file rewritten with new content is uploaded again; rewritten with the same content it is not", async () => {
    const h = await startHarness();
    try {
      await h.manager.watch([h.dir], undefined);
      const file = join(h.dir, "data.json");
      await writeFile(file, '{"v":1}');
      await waitFor(() => h.sink.uploadsOf(file).length === 1, "the first upload");
      await writeFile(file, '{"v":1}');
      await h.manager.offerPending();
      assert.equal(h.offersOf(file).length, 1, "same bytes rewritten: no second offer");
      await writeFile(file, '{"v":2}');
      await waitFor(() => h.sink.uploadsOf(file).length === 2, "the upload of the new content");
      assert.deepEqual(
        h.sink.uploadsOf(file).map((upload) => upload.body?.toString()),
        ['{"v":1}', '{"v":2}'],
      );
      await writeFile(file, '{"v":2}');
      const manifest = await h.manager.finish();
      assert.equal(h.offersOf(file).length, 2);
      assert.deepEqual(entryFor(manifest, file), { filepath: file, size: 7, status: "uploaded" });
    } finally {
      await h.dispose();
    }
  });

  test("a new file whose name is not valid UTF-8 is not offered, and the manifest lists it as failed saying why; an old one is not listed", async () => {
    const h = await startHarness();
    try {
      const out = join(h.dir, "out");
      await mkdir(out);
      // Names as raw bytes: 0xff and 0xfe never occur in UTF-8.
      const named = (text: string) => Buffer.concat([Buffer.from(`${out}/`), Buffer.from(text, "latin1")]);
      await writeFile(named("old-\xff.txt"), "there before the watch");
      await h.manager.watch([out], undefined);
      await writeFile(named("new-\xfe.txt"), "written by the run");
      await writeFile(join(out, "fine.txt"), "a name that is UTF-8");
      const manifest = await h.manager.finish();
      assert.deepEqual(
        h.offers.map((offer) => offer.filename),
        ["fine.txt"],
      );
      assert.deepEqual(manifest.map((entry) => entry.filepath).sort(), [
        join(out, "fine.txt"),
        join(out, "new-\uFFFD.txt"),
      ]);
      assert.deepEqual(entryFor(manifest, join(out, "new-\uFFFD.txt")), {
        filepath: join(out, "new-\uFFFD.txt"),
        size: 0,
        status: "failed",
        error: "its name is not valid UTF-8, so it cannot be named in a frame; rename it to upload it",
      });
      assert.ok(h.logs.some((line) => line.level === "warn" && line.fields?.path === join(out, "new-\uFFFD.txt")));
    } finally {
      await h.dispose();
    }
  });

  test("files present when watching starts are not offered until they change", async () => {
    const h = await startHarness();
    try {
      await writeFile(join(h.dir, "old.txt"), "was here before");
      await writeFile(join(h.dir, "old2.txt"), "also before");
      await h.manager.watch([h.dir], undefined);
      await h.manager.offerPending();
      assert.deepEqual(h.offers, []);
      await writeFile(join(h.dir, "old2.txt"), "changed during the session");
      const manifest = await h.manager.finish();
      assert.deepEqual(h.offers, [{ filename: "old2.txt", filepath: join(h.dir, "old2.txt") }]);
      assert.equal(manifest.length, 1);
    } finally {
      await h.dispose();
    }
  });

  test("empty files and symlinks leading out of the watched directory are not offered; a symlink inside is", async () => {
    const h = await startHarness();
    try {
      const out = join(h.dir, "out");
      await writeFile(join(h.dir, "secret.txt"), "outside the watched directory");
      await h.manager.watch([out], undefined);
      await writeFile(join(out, "empty.txt"), "");
      await symlink(join(h.dir, "secret.txt"), join(out, "escape.txt"));
      await symlink("/etc/hostname", join(out, "escape-abs"));
      await writeFile(join(out, "real.txt"), "inside");
      await symlink("real.txt", join(out, "alias.txt"));
      await h.manager.finish();
      assert.deepEqual(h.offers.map((offer) => offer.filename).sort(), ["alias.txt", "real.txt"]);
      assert.equal(h.sink.uploadsOf(join(out, "alias.txt"))[0]?.body?.toString(), "inside");
      assert.ok(h.sink.uploads.every((upload) => !upload.body?.toString().includes("outside")));
    } finally {
      await h.dispose();
    }
  });

  test("an emptied file is not offered again, and refilled with new content it is", async () => {
    const h = await startHarness();
    try {
      await h.manager.watch([h.dir], undefined);
      const file = join(h.dir, "log.txt");
      await writeFile(file, "first");
      await waitFor(() => h.sink.uploadsOf(file).length === 1, "first upload");
      await writeFile(file, "");
      await h.manager.offerPending();
      assert.equal(h.offersOf(file).length, 1);
      await writeFile(file, "second");
      await h.manager.finish();
      assert.deepEqual(
        h.sink.uploadsOf(file).map((upload) => upload.body?.toString()),
        ["first", "second"],
      );
    } finally {
      await h.dispose();
    }
  });

  test("offerPending offers new files without waiting for the settle window and returns once they are answered", async () => {
    const h = await startHarness({ settleMs: 600_000, answerDelayMs: 50 });
    try {
      await h.manager.watch([h.dir], undefined);
      for (let i = 0; i < 5; i++) await writeFile(join(h.dir, `f${i}.txt`), `file ${i}`);
      await h.manager.offerPending();
      assert.equal(h.offers.length, 5);
      assert.equal(h.answered(), 5, "every offer was answered before offerPending resolved");
      const manifest = await h.manager.finish();
      assert.equal(manifest.filter((entry) => entry.status === "uploaded").length, 5);
    } finally {
      await h.dispose();
    }
  });

  test("directories named by later requests accumulate and a directory named twice is watched once", async () => {
    const h = await startHarness();
    try {
      const one = join(h.dir, "one");
      const two = join(h.dir, "two");
      await h.manager.watch([one], undefined);
      await writeFile(join(one, "a.txt"), "a");
      await h.manager.offerPending();
      await h.manager.watch([two, one, `${one}/`], undefined);
      await writeFile(join(one, "b.txt"), "b");
      await writeFile(join(two, "c.txt"), "c");
      const manifest = await h.manager.finish();
      assert.deepEqual(h.offers.map((offer) => offer.filename).sort(), ["a.txt", "b.txt", "c.txt"]);
      assert.equal(manifest.length, 3);
      assert.equal(h.sink.uploads.length, 3);
    } finally {
      await h.dispose();
    }
  });

  test("secrets in a path are hidden in the offer and the answer naming the hidden path is accepted", async () => {
    const h = await startHarness({ secrets: () => ["tok-123"] });
    try {
      await h.manager.watch([h.dir], undefined);
      await writeFile(join(h.dir, "run-tok-123.log"), "content");
      const manifest = await h.manager.finish();
      assert.deepEqual(h.offers, [{ filename: "run-[REDACTED].log", filepath: join(h.dir, "run-[REDACTED].log") }]);
      assert.equal(h.sink.uploads[0]?.body?.toString(), "content");
      assert.deepEqual(manifest, [{ filepath: join(h.dir, "run-[REDACTED].log"), size: 7, status: "uploaded" }]);
      assert.ok(
        h.logs.every((line) => !JSON.stringify(line).includes("tok-123")),
        "logs are redacted",
      );
    } finally {
      await h.dispose();
    }
  });
});
