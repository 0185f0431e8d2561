import assert from "node:assert/strict";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, test } from "node:test";
import { runCommand } from "../../src/commands/runner.js";
import { runOutOfFds } from "../support/out-of-fds.js";
import { startHarness, waitFor } from "./support/harness.js";

/** A shell loop writing `count` files `f<i>.txt` holding "artifact <i>" plus padding, in nested folders. */
function writeFilesCommand(dir: string, count: number): string {
  return `i=0; while [ $i -lt ${count} ]; do d="${dir}/batch$((i % 10))"; mkdir -p "$d"; printf 'artifact %d %0200d\\n' $i 0 > "$d/f$i.txt"; i=$((i+1)); done`;
}

function expectedBody(i: number): string {
  return `artifact ${i} ${"0".repeat(200)}\n`;
}

describe("ArtifactManager finish", () => {
  test("1000 files written by one command are all uploaded exactly once with matching bytes", async () => {
    const h = await startHarness({ maxConcurrentUploads: 8 });
    try {
      await h.manager.watch([h.dir], undefined);
      const outcome = await runCommand({ command: writeFilesCommand(h.dir, 1000) });
      assert.equal(outcome.exitCode, 0, outcome.stderr);
      await h.manager.offerPending();
      const manifest = await h.manager.finish();
      assert.equal(h.offers.length, 1000, "each file offered once");
      assert.equal(h.sink.uploads.length, 1000, "each file uploaded once");
      assert.equal(new Set(h.sink.uploads.map((upload) => upload.file)).size, 1000);
      for (let i = 0; i < 1000; i++) {
        const file = join(h.dir, `batch${i % 10}`, `f${i}.txt`);
        const uploads = h.sink.uploadsOf(file);
        assert.equal(uploads.length, 1, file);
        assert.equal(uploads[0]?.body?.toString(), expectedBody(i), file);
      }
      assert.equal(manifest.length, 1000);
      assert.ok(manifest.every((entry) => entry.status === "uploaded"));
    } finally {
      await h.dispose();
    }
  });

  test("finish right after a command wrote 100 files uploads all of them before it resolves", async () => {
    // A settle window far longer than the test: only finish's rescan can find these files.
    const h = await startHarness({ settleMs: 600_000 });
    try {
      await h.manager.watch([h.dir], undefined);
      const outcome = await runCommand({ command: writeFilesCommand(h.dir, 100) });
      assert.equal(outcome.exitCode, 0, outcome.stderr);
      const manifest = await h.manager.finish();
      assert.equal(h.sink.uploads.length, 100);
      assert.equal(manifest.length, 100);
      assert.ok(manifest.every((entry) => entry.status === "uploaded"));
      for (let i = 0; i < 100; i++) {
        assert.equal(
          h.sink.uploadsOf(join(h.dir, `batch${i % 10}`, `f${i}.txt`))[0]?.body?.toString(),
          expectedBody(i),
        );
      }
    } finally {
      await h.dispose();
    }
  });

  test("uploads still running when finish times out are abandoned and reported failed", async () => {
    const h = await startHarness({
      answer: () => ({ presigned_url: "http://127.0.0.1:9/never", content_type: "text/plain" }),
      retries: 100,
      retryBackoffMs: 1000,
    });
    try {
      await h.manager.watch([h.dir], undefined);
      await writeFile(join(h.dir, "stuck.txt"), "stuck");
      const manifest = await h.manager.finish(300);
      assert.deepEqual(manifest, [
        {
          filepath: join(h.dir, "stuck.txt"),
          size: 5,
          status: "failed",
          error: "the session ended before the upload finished",
        },
      ]);
    } finally {
      await h.dispose();
    }
  });

  test("finish twice returns the same manifest and offers nothing after the first", async () => {
    const h = await startHarness();
    try {
      await h.manager.watch([h.dir], undefined);
      await writeFile(join(h.dir, "a.txt"), "a");
      const first = await h.manager.finish();
      await writeFile(join(h.dir, "b.txt"), "b");
      const second = await h.manager.finish();
      assert.deepEqual(second, first);
      assert.equal(h.offers.length, 1);
    } finally {
      await h.dispose();
    }
  });

  test("after close nothing more is offered, answers are refused, and an upload already answered completes", async () => {
    const h = await startHarness({ answerDelayMs: 0 });
    try {
      await h.manager.watch([h.dir], undefined);
      await writeFile(join(h.dir, "before.txt"), "before close");
      await h.manager.offerPending();
      await h.manager.close();
      await writeFile(join(h.dir, "after.txt"), "after close");
      await waitFor(() => h.sink.uploads.length === 1, "the answered upload");
      assert.deepEqual(
        h.offers.map((offer) => offer.filename),
        ["before.txt"],
      );
      h.manager.handleUploadResponse({
        message_type: "artifact_upload_response_message",
        filename: "after.txt",
        filepath: join(h.dir, "after.txt"),
        presigned_url: h.sink.urlFor("after"),
        content_type: "text/plain",
      });
      assert.ok(
        h.logs.some((line) => line.message === "refused artifact_upload_response_message: the session is over"),
      );
    } finally {
      await h.dispose();
    }
  });
});

describe("ArtifactManager out of file descriptors", () => {
  test("a watch started while no descriptor is free returns, and a file written later is still uploaded and listed", async () => {
    const report = await runOutOfFds("artifacts");
    assert.equal(report.withoutFds, "returned");
    assert.ok(Array.isArray(report.afterwards), JSON.stringify(report.afterwards));
    assert.equal(report.afterwards.length, 1);
    assert.match(String(report.afterwards[0]), /\/report\.txt: uploaded$/);
    assert.deepEqual(report.uncaught, []);
  });
});
