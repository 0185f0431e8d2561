import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { lstat, mkdir, mkdtemp, readdir, readFile, rm, stat, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { DownloadError, downloadAll, fileNameFromUrl } from "../../src/downloads/index.js";
import { waitFor } from "../commands/support/processes.js";
import { TestHttpServer } from "./support/http-server.js";

let server: TestHttpServer;
let scratch: string;
let counter = 0;
before(async () => {
  server = await TestHttpServer.start();
  scratch = await mkdtemp(join(tmpdir(), "downloads-"));
});
after(async () => {
  await server.close();
  await rm(scratch, { recursive: true, force: true });
});

function freshDir(): string {
  return join(scratch, `work-${++counter}`);
}

async function rejection(promise: Promise<unknown>): Promise<DownloadError> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof DownloadError, `expected a DownloadError, got ${String(error)}`);
    // Every download error, whatever its reason, reads as runtime 0.15.1's did.
    assert.ok(error.message.startsWith("Download failed: "), error.message);
    return error;
  }
  assert.fail("expected the download to fail");
}

describe("downloads", () => {
  test("a file is streamed to disk byte for byte under the URL's last path segment, decoded", async () => {
    const body = randomBytes(5 * 1024 * 1024 + 17);
    const url = server.file("/files/my%20data.bin", body);
    const dir = freshDir();
    const [result] = await downloadAll([{ download_url: `${url}?sig=abc`, working_dir: dir }]);
    assert.equal(result?.bytes, body.length);
    assert.deepEqual(await readdir(dir), ["my data.bin"]);
    assert.ok((await readFile(join(dir, "my data.bin"))).equals(body));
  });

  test("working_dir is created, nested, when missing", async () => {
    const url = server.file("/files/nested.txt", "nested");
    const dir = join(freshDir(), "a", "b");
    await downloadAll([{ download_url: url, working_dir: dir }]);
    assert.equal(await readFile(join(dir, "nested.txt"), "utf8"), "nested");
  });

  test("redirects are followed and the file keeps the original URL's name", async () => {
    server.file("/files/real-name.txt", "redirected body");
    const url = server.redirect("/r/asked-name.txt", "/files/real-name.txt");
    const dir = freshDir();
    await downloadAll([{ download_url: url, working_dir: dir }]);
    assert.deepEqual(await readdir(dir), ["asked-name.txt"]);
    assert.equal(await readFile(join(dir, "asked-name.txt"), "utf8"), "redirected body");
  });

  test("HTTP 404 fails with 'Download failed: 404 Not Found'; the URL is kept apart, without its query, redacted", async () => {
    const dir = freshDir();
    const error = await rejection(
      downloadAll(
        [{ download_url: `${server.url}/missing/hunter2-secret.txt?X-Signature=sig-0xabc#frag`, working_dir: dir }],
        { secrets: ["hunter2-secret"] },
      ),
    );
    assert.equal(error.reason, "http_status");
    assert.equal(error.status, 404);
    assert.equal(error.message, "Download failed: 404 Not Found");
    assert.equal(error.url, `${server.url}/missing/[REDACTED].txt`);
    assert.deepEqual(await readdir(dir), []);
  });

  test("a name that decodes to a path (..%2F) is refused before any request", async () => {
    for (const path of ["/files/..%2Fescape.txt", "/files/%2e%2e", "/files/a%5Cb.txt", "/files/x%00y", "/files/"]) {
      const dir = freshDir();
      const error = await rejection(downloadAll([{ download_url: server.url + path, working_dir: dir }]));
      assert.equal(error.reason, "invalid_name", path);
      assert.equal(server.hits.get(path.split("?")[0] ?? ""), undefined, `no request for ${path}`);
    }
    assert.throws(() => fileNameFromUrl(new URL("http://h/a/..%2F..%2Fetc%2Fpasswd")), DownloadError);
    assert.equal(fileNameFromUrl(new URL("http://h/a/v1..2.tar")), "v1..2.tar");
  });

  test("an invalid or non-http URL is refused with a clear error", async () => {
    assert.equal(
      (await rejection(downloadAll([{ download_url: "not a url", working_dir: freshDir() }]))).reason,
      "invalid_url",
    );
    const error = await rejection(downloadAll([{ download_url: "file:///etc/passwd", working_dir: freshDir() }]));
    assert.match(error.message, /only http and https/);
  });

  test("cancel during a slow download aborts it and leaves no partial file", async () => {
    const url = server.stall("/slow/big.bin", randomBytes(64 * 1024));
    const dir = freshDir();
    const controller = new AbortController();
    const download = downloadAll([{ download_url: url, working_dir: dir }], { signal: controller.signal });
    download.catch(() => {});
    await waitFor(async () => {
      const names = await readdir(dir).catch(() => []);
      const sizes = await Promise.all(names.map((name) => stat(join(dir, name)).then((s) => s.size)));
      return sizes.some((size) => size > 0);
    }, "the first bytes to reach the disk");
    controller.abort();
    const error = await rejection(download);
    assert.equal(error.reason, "cancelled");
    assert.deepEqual(await readdir(dir), []);
  });

  test("a download that stops sending fails after the idle timeout and leaves no partial file", async () => {
    const url = server.stall("/slow/stalled.bin", Buffer.from("some"));
    const dir = freshDir();
    const error = await rejection(
      downloadAll([{ download_url: url, working_dir: dir }], { limits: { idleTimeoutMs: 300 } }),
    );
    assert.equal(error.reason, "stalled");
    assert.deepEqual(await readdir(dir), []);
  });

  // Bounded: were the rule missing, this download would never end.
  test("a server that trickles a few bytes at a time fails as stalled too, naming the rate it missed", {
    timeout: 30_000,
  }, async () => {
    // A byte every 10 ms: never silent for the idle timeout, far below a KiB per 300 ms.
    const url = server.route("/slow/trickle.bin", (_request, response) => {
      response.writeHead(200);
      const drip = setInterval(() => response.write("x"), 10);
      response.on("close", () => clearInterval(drip));
    });
    const dir = freshDir();
    const error = await rejection(
      downloadAll([{ download_url: url, working_dir: dir }], {
        limits: { idleTimeoutMs: 300, minProgressBytes: 1024 },
      }),
    );
    assert.equal(error.reason, "stalled");
    assert.match(error.message, /stalled: less than 1024 bytes in 300 ms from http:\/\/.*\/slow\/trickle\.bin$/);
    assert.deepEqual(await readdir(dir), []);

    // The same server sending a KiB per tick keeps the download alive well past the idle timeout.
    let sent = 0;
    const steady = server.route("/slow/steady.bin", (_request, response) => {
      response.writeHead(200);
      const drip = setInterval(() => {
        response.write(Buffer.alloc(2048, 0x61));
        sent += 2048;
        if (sent >= 2048 * 40) {
          clearInterval(drip);
          response.end();
        }
      }, 25);
      response.on("close", () => clearInterval(drip));
    });
    const steadyDir = freshDir();
    await downloadAll([{ download_url: steady, working_dir: steadyDir }], {
      limits: { idleTimeoutMs: 300, minProgressBytes: 1024 },
    });
    assert.equal((await stat(join(steadyDir, "steady.bin"))).size, 2048 * 40);
  });

  test("a body over the size limit is refused and removed, whether declared or streamed", async () => {
    const declared = server.file("/files/declared.bin", randomBytes(4096));
    const streamed = server.route("/files/streamed.bin", (_request, response) => {
      response.writeHead(200);
      response.end(randomBytes(4096));
    });
    for (const url of [declared, streamed]) {
      const dir = freshDir();
      const error = await rejection(
        downloadAll([{ download_url: url, working_dir: dir }], { limits: { maxDownloadBytes: 1000 } }),
      );
      assert.equal(error.reason, "too_large");
      assert.deepEqual(await readdir(dir), []);
    }
  });

  test("a connection refused is a network error naming the URL", async () => {
    const closed = await TestHttpServer.start();
    const url = `${closed.url}/files/x.txt`;
    await closed.close();
    const error = await rejection(downloadAll([{ download_url: url, working_dir: freshDir() }]));
    assert.equal(error.reason, "network");
    assert.ok(error.message.includes(url));
  });

  test("a symlink already at the file's name is replaced, not written through", async () => {
    const dir = freshDir();
    const outside = join(scratch, `outside-${counter}.txt`);
    await writeFile(outside, "original");
    await mkdir(dir, { recursive: true });
    await symlink(outside, join(dir, "target.txt"));
    const url = server.file("/files/target.txt", "downloaded");
    await downloadAll([{ download_url: url, working_dir: dir }]);
    assert.equal(await readFile(outside, "utf8"), "original");
    assert.equal((await lstat(join(dir, "target.txt"))).isFile(), true);
    assert.equal(await readFile(join(dir, "target.txt"), "utf8"), "downloaded");
  });

  test("several items download in order and the first failure stops the rest", async () => {
    const dir = freshDir();
    const first = server.file("/files/first.txt", "1");
    const third = server.file("/files/third.txt", "3");
    await rejection(
      downloadAll([
        { download_url: first, working_dir: dir },
        { download_url: `${server.url}/files/absent.txt`, working_dir: dir },
        { download_url: third, working_dir: dir },
      ]),
    );
    assert.deepEqual(await readdir(dir), ["first.txt"]);
    assert.equal(server.hits.get("/files/third.txt"), undefined);
  });
});
