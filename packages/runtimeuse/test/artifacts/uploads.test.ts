import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { createWriteStream } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { describe, test } from "node:test";
import { uploadFile } from "../../src/artifacts/upload-file.js";
import { entryFor, startHarness, waitFor } from "./support/harness.js";
import { deadUrl, PutSink, sha256 } from "./support/put-sink.js";

describe("artifact uploads", () => {
  test("a sink that fails twice with 503 then succeeds gets the file on the third attempt", async () => {
    const sink = await PutSink.start({ status: (_file, attempt) => (attempt <= 2 ? 503 : 200) });
    const h = await startHarness({ sink, retries: 3 });
    try {
      await h.manager.watch([h.dir], undefined);
      const file = join(h.dir, "flaky.txt");
      await writeFile(file, "third time lucky");
      const manifest = await h.manager.finish();
      assert.equal(sink.attempts.get(file), 3);
      assert.equal(sink.uploadsOf(file).length, 1);
      assert.equal(sink.uploadsOf(file)[0]?.body?.toString(), "third time lucky");
      assert.deepEqual(entryFor(manifest, file), { filepath: file, size: 16, status: "uploaded" });
      assert.equal(h.logs.filter((line) => line.message === "artifact upload failed, retrying").length, 2);
    } finally {
      await h.dispose();
      await sink.close();
    }
  });

  test("a sink that is down: the session still ends and the manifest says failed with the reason", async () => {
    const url = await deadUrl();
    const h = await startHarness({ retries: 2, answer: () => ({ presigned_url: url, content_type: "text/plain" }) });
    try {
      await h.manager.watch([h.dir], undefined);
      const file = join(h.dir, "lost.txt");
      await writeFile(file, "nobody listens");
      const manifest = await h.manager.finish();
      const entry = entryFor(manifest, file);
      assert.equal(entry?.status, "failed");
      assert.match(entry?.error ?? "", /ECONNREFUSED.*after 3 attempts/);
      const failure = h.logs.find((line) => line.message === "artifact upload failed");
      assert.equal(failure?.level, "warn");
      assert.doesNotMatch(JSON.stringify(failure), /X-Signature/, "the presigned query is not logged");
    } finally {
      await h.dispose();
    }
  });

  test("a 403 is not retried and its body is kept in the reason", async () => {
    const sink = await PutSink.start({ status: () => 403 });
    const h = await startHarness({ sink, retries: 5 });
    try {
      await h.manager.watch([h.dir], undefined);
      const file = join(h.dir, "denied.txt");
      await writeFile(file, "x");
      const manifest = await h.manager.finish();
      assert.equal(sink.attempts.get(file), 1);
      assert.deepEqual(entryFor(manifest, file), {
        filepath: file,
        size: 1,
        status: "failed",
        error: "HTTP 403: sink says 403",
      });
    } finally {
      await h.dispose();
      await sink.close();
    }
  });

  test("an answer whose presigned_url is not an http(s) URL fails that artifact only", async () => {
    const h = await startHarness({
      answer: (offer, sink) =>
        offer.filename === "bad.txt"
          ? { presigned_url: "file:///etc/passwd", content_type: "text/plain" }
          : { presigned_url: sink.urlFor(offer.filepath), content_type: "text/plain" },
    });
    try {
      await h.manager.watch([h.dir], undefined);
      await writeFile(join(h.dir, "bad.txt"), "b");
      await writeFile(join(h.dir, "good.txt"), "g");
      const manifest = await h.manager.finish();
      assert.equal(entryFor(manifest, join(h.dir, "bad.txt"))?.status, "failed");
      assert.match(entryFor(manifest, join(h.dir, "bad.txt"))?.error ?? "", /not an absolute http\(s\) URL/);
      assert.equal(entryFor(manifest, join(h.dir, "good.txt"))?.status, "uploaded");
    } finally {
      await h.dispose();
    }
  });

  test("an answer naming a path never offered is refused and nothing is uploaded; a second answer for one offer too", async () => {
    const h = await startHarness({ answer: () => undefined });
    try {
      await writeFile(join(h.dir, "private.key"), "do not upload me");
      await h.manager.watch([h.dir], undefined);
      const respond = (filepath: string) =>
        h.manager.handleUploadResponse({
          message_type: "artifact_upload_response_message",
          filename: "x",
          filepath,
          presigned_url: h.sink.urlFor(filepath),
          content_type: "application/octet-stream",
        });
      respond(join(h.dir, "private.key"));
      respond("/etc/passwd");
      const file = join(h.dir, "out.txt");
      await writeFile(file, "fine");
      await waitFor(() => h.offers.length === 1, "the offer of out.txt");
      respond(file);
      respond(file);
      const manifest = await h.manager.finish();
      assert.deepEqual(
        h.sink.uploads.map((upload) => upload.file),
        [file],
      );
      const refusals = h.logs.filter((line) => line.message.startsWith("refused artifact_upload_response_message"));
      assert.deepEqual(
        refusals.map((line) => [line.message.split(": ")[1], line.fields?.filepath]),
        [
          ["this filepath was not offered", join(h.dir, "private.key")],
          ["this filepath was not offered", "/etc/passwd"],
          ["this offer was already answered", file],
        ],
      );
      assert.deepEqual(manifest, [{ filepath: file, size: 4, status: "uploaded" }]);
    } finally {
      await h.dispose();
    }
  });

  test("a client that never answers: finish returns after the answer timeout with not_requested", async () => {
    const h = await startHarness({ answer: () => undefined, responseTimeoutMs: 200 });
    try {
      await h.manager.watch([h.dir], undefined);
      await writeFile(join(h.dir, "unwanted.txt"), "nobody asked");
      const manifest = await h.manager.finish();
      assert.deepEqual(manifest, [{ filepath: join(h.dir, "unwanted.txt"), size: 12, status: "not_requested" }]);
      assert.equal(h.sink.uploads.length, 0);
    } finally {
      await h.dispose();
    }
  });

  test("a file rewritten between its offer and the answer is uploaded once, with its latest content", async () => {
    const h = await startHarness({ answer: () => undefined, responseTimeoutMs: 100 });
    try {
      await h.manager.watch([h.dir], undefined);
      const file = join(h.dir, "draft.txt");
      await writeFile(file, "draft one");
      await waitFor(() => h.offers.length === 1, "the first offer");
      await writeFile(file, "draft two, final");
      await h.manager.offerPending();
      h.manager.handleUploadResponse({
        message_type: "artifact_upload_response_message",
        filename: "draft.txt",
        filepath: file,
        presigned_url: h.sink.urlFor(file),
        content_type: "text/plain",
      });
      const manifest = await h.manager.finish();
      assert.equal(h.offers.length, 1);
      assert.deepEqual(
        h.sink.uploadsOf(file).map((upload) => upload.body?.toString()),
        ["draft two, final"],
      );
      assert.deepEqual(manifest, [{ filepath: file, size: 16, status: "uploaded" }]);
    } finally {
      await h.dispose();
    }
  });

  test("a 64 MiB file is streamed with Content-Length and arrives intact", async () => {
    // Only finish's rescan offers it: a loaded machine may pause the writer longer than a short settle window.
    const h = await startHarness({ settleMs: 600_000 });
    try {
      await h.manager.watch([h.dir], undefined);
      const file = join(h.dir, "big.bin");
      const block = Buffer.alloc(1024 * 1024);
      for (let i = 0; i < block.length; i++) block[i] = (i * 31) & 0xff;
      const expected = createHash("sha256");
      const stream = createWriteStream(file);
      for (let i = 0; i < 64; i++) {
        block[0] = i;
        expected.update(block);
        if (!stream.write(block)) await new Promise<void>((resolve) => stream.once("drain", () => resolve()));
      }
      await new Promise<void>((resolve, reject) => {
        stream.on("error", reject);
        stream.end(() => resolve());
      });
      const manifest = await h.manager.finish();
      const [upload] = h.sink.uploadsOf(file);
      assert.equal(upload?.contentLength, String(64 * 1024 * 1024));
      assert.equal(upload?.bytes, 64 * 1024 * 1024);
      assert.equal(upload?.sha256, expected.digest("hex"));
      assert.deepEqual(manifest, [{ filepath: file, size: 64 * 1024 * 1024, status: "uploaded" }]);
    } finally {
      await h.dispose();
    }
  });
});

describe("uploadFile", () => {
  test("a file that changes while it is being sent is cut off, then sent whole once it is quiet", async () => {
    const dir = await mkdtemp("/tmp/rtu-upload-");
    const completed: Array<{ bytes: number; sha256: string }> = [];
    let requests = 0;
    let resume: () => void = () => {};
    let markPaused: () => void = () => {};
    const paused = new Promise<void>((resolve) => {
      markPaused = resolve;
    });
    const server = createServer((request, response) => {
      requests++;
      const hash = createHash("sha256");
      let bytes = 0;
      let first = true;
      request.on("data", (chunk: Buffer) => {
        hash.update(chunk);
        bytes += chunk.length;
        if (first && requests === 1) {
          // Hold the first upload mid-body until the test has changed the file.
          first = false;
          request.pause();
          resume = () => request.resume();
          markPaused();
        }
      });
      request.on("end", () => {
        completed.push({ bytes, sha256: hash.digest("hex") });
        response.writeHead(200).end();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    try {
      const file = join(dir, "growing.bin");
      const part = Buffer.alloc(4 * 1024 * 1024, 1);
      await writeFile(file, part);
      const upload = uploadFile({
        path: file,
        url: new URL(`http://127.0.0.1:${(server.address() as AddressInfo).port}/x`),
        contentType: "application/octet-stream",
        idleTimeoutMs: 10_000,
        retries: 0,
        quietMs: 50,
      });
      await paused;
      await writeFile(file, Buffer.concat([part, part]));
      resume();
      const outcome = await upload;
      const whole = sha256(Buffer.concat([part, part]));
      assert.equal(outcome.ok, true);
      assert.equal(outcome.ok && outcome.sha256, whole);
      assert.deepEqual(completed, [{ bytes: 8 * 1024 * 1024, sha256: whole }], "the cut attempt stored nothing");
      assert.equal(requests, 2);
    } finally {
      server.closeAllConnections();
      server.close();
      await rm(dir, { recursive: true, force: true });
    }
  });

  test("an attempt with no progress for the upload timeout is abandoned and retried, then reported", async () => {
    let requests = 0;
    const server = createServer((request) => {
      requests++;
      request.resume(); // reads the body, never answers
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const dir = await mkdtemp("/tmp/rtu-upload-");
    try {
      const file = join(dir, "slow.txt");
      await writeFile(file, "waiting");
      const outcome = await uploadFile({
        path: file,
        url: new URL(`http://127.0.0.1:${(server.address() as AddressInfo).port}/x`),
        contentType: "text/plain",
        idleTimeoutMs: 200,
        retries: 1,
        backoffMs: 1,
      });
      assert.deepEqual(outcome, { ok: false, error: "no progress for 200 ms (after 2 attempts)", attempts: 2 });
      assert.equal(requests, 2);
    } finally {
      server.closeAllConnections();
      server.close();
      await rm(dir, { recursive: true, force: true });
    }
  });

  /** `path` (made by `make` in a new temporary directory) uploaded once, with no retry, to a sink of its own. */
  async function uploadOnce(
    name: string,
    make: (path: string) => Promise<void>,
  ): Promise<{ outcome: Awaited<ReturnType<typeof uploadFile>>; sink: PutSink }> {
    const sink = await PutSink.start();
    const dir = await mkdtemp("/tmp/rtu-upload-");
    try {
      const path = join(dir, name);
      await make(path);
      const outcome = await uploadFile({
        path,
        url: new URL(sink.urlFor(name)),
        contentType: "text/x-test",
        idleTimeoutMs: 5000,
        retries: 0,
      });
      return { outcome, sink };
    } finally {
      await sink.close();
      await rm(dir, { recursive: true, force: true });
    }
  }

  test("a FIFO where a file was offered is refused at once, without waiting for a writer", async () => {
    const { outcome, sink } = await uploadOnce("pipe", async (path) => {
      execFileSync("mkfifo", [path]);
    });
    assert.deepEqual(outcome, { ok: false, error: "cannot read file: not a regular file", attempts: 1 });
    assert.equal(sink.uploads.length, 0);
  });

  test("the outcome carries the SHA-256 of the bytes sent", async () => {
    const { outcome, sink } = await uploadOnce("a.txt", (path) => writeFile(path, "abc"));
    assert.equal(outcome.ok, true);
    assert.equal(outcome.ok && outcome.sha256, sha256("abc"));
    assert.equal(sink.uploads[0]?.contentType, "text/x-test");
  });
});
