import assert from "node:assert/strict";
import { mkdir, rm, symlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, test } from "node:test";
import { startHarness, waitFor } from "./support/harness.js";

describe("ArtifactManager limits and guards", () => {
  test("a symlink pointed outside the watched directory after its offer is not uploaded", async () => {
    const h = await startHarness({ answer: () => undefined, responseTimeoutMs: 100 });
    try {
      const out = join(h.dir, "out");
      await writeFile(join(h.dir, "outside.txt"), "outside content");
      await h.manager.watch([out], undefined);
      await writeFile(join(out, "inside.txt"), "inside content");
      await symlink("inside.txt", join(out, "link.txt"));
      await h.manager.offerPending();
      assert.ok(h.offersOf(join(out, "link.txt")).length === 1, "the link to a file inside is offered");
      await rm(join(out, "link.txt"));
      await symlink(join(h.dir, "outside.txt"), join(out, "link.txt"));
      h.manager.handleUploadResponse({
        message_type: "artifact_upload_response_message",
        filename: "link.txt",
        filepath: join(out, "link.txt"),
        presigned_url: h.sink.urlFor("link"),
        content_type: "text/plain",
      });
      const manifest = await h.manager.finish();
      assert.equal(h.sink.uploadsOf("link").length, 0);
      const entry = manifest.find((e) => e.filepath === join(out, "link.txt"));
      assert.equal(entry?.status, "failed");
      assert.match(entry?.error ?? "", /no longer inside the watched directory/);
    } finally {
      await h.dispose();
    }
  });

  test("beyond maxFiles new files are not offered, and that is logged once", async () => {
    const h = await startHarness({ maxFiles: 3 });
    try {
      await h.manager.watch([h.dir], undefined);
      for (let i = 0; i < 6; i++) await writeFile(join(h.dir, `f${i}.txt`), `file ${i}`);
      const manifest = await h.manager.finish();
      assert.equal(h.offers.length, 3);
      assert.equal(manifest.length, 3);
      assert.equal(h.logs.filter((line) => line.message.startsWith("artifact file limit reached")).length, 1);
    } finally {
      await h.dispose();
    }
  });

  test("a directory watched inside another: its new files are offered once, its old ones not at all", async () => {
    const h = await startHarness();
    try {
      const inner = join(h.dir, "inner");
      await mkdir(inner);
      await writeFile(join(inner, "old.txt"), "before everything");
      await h.manager.watch([h.dir], undefined);
      await writeFile(join(inner, "new.txt"), "written in the session");
      await h.manager.watch([inner], undefined);
      await writeFile(join(inner, "newer.txt"), "written later");
      const manifest = await h.manager.finish();
      assert.deepEqual(h.offers.map((offer) => offer.filename).sort(), ["new.txt", "newer.txt"]);
      assert.equal(manifest.length, 2);
      await waitFor(() => h.sink.uploads.length === 2, "both uploads");
    } finally {
      await h.dispose();
    }
  });

  test("watch names the directory it cannot create", async () => {
    const h = await startHarness();
    try {
      await writeFile(join(h.dir, "a-file"), "not a directory");
      await assert.rejects(h.manager.watch([join(h.dir, "a-file", "sub")], undefined), (error: Error) =>
        error.message.startsWith(`cannot watch artifacts directory ${join(h.dir, "a-file", "sub")}:`),
      );
    } finally {
      await h.dispose();
    }
  });
});
