#!/usr/bin/env node
// Artifacts benchmark, against the built CLI (run `npm run build` first).
//
// 1. 200 files of 64 KiB written by one command, then end_session: the time
//    from the command's result to end_session_confirm_message (target
//    <= 0.5 s), and every file uploaded exactly once with the right size.
// 2. A 1 GiB artifact: offered once, uploaded to a loopback PUT sink; the
//    server's peak RSS (target <= 150 MB) and the upload rate.
//
// The runtime runs as its own process (the real binary) so that its RSS is
// its own; the client and the sink live in this process. Every wait is
// bounded. Prints a summary and one JSON line; exits 1 if a target or a
// correctness check fails. Usage: node scripts/bench/artifacts.mjs [--quick]
// (--quick: 128 MiB instead of 1 GiB, for a smoke run).
import { spawn } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { createServer } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { WebSocket } from "ws";

const root = new URL("../..", import.meta.url).pathname;
const quick = process.argv.includes("--quick");
const BIG_BYTES = quick ? 128 * 1024 * 1024 : 1024 * 1024 * 1024;
const SMALL_FILES = 200;
const SMALL_BYTES = 64 * 1024;
const TARGET_CONFIRM_MS = 500;
const TARGET_RSS_MB = 150;
const STEP_TIMEOUT_MS = 300_000;

/** A PUT sink on 127.0.0.1 that counts bytes per URL path without keeping them. */
async function startSink() {
  const uploads = new Map();
  const server = createServer((request, response) => {
    const path = decodeURIComponent(new URL(request.url ?? "/", "http://sink").searchParams.get("file") ?? "");
    let bytes = 0;
    let firstByteAt = 0;
    request.on("data", (chunk) => {
      if (firstByteAt === 0) firstByteAt = performance.now();
      bytes += chunk.length;
    });
    // Only complete bodies count; an attempt the runtime cut short never reaches "end".
    request.on("end", () => {
      const list = uploads.get(path) ?? [];
      list.push({
        bytes,
        contentLength: Number(request.headers["content-length"]),
        ms: performance.now() - firstByteAt,
      });
      uploads.set(path, list);
      response.writeHead(200).end();
    });
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address();
  return {
    uploads,
    urlFor: (file) => `http://127.0.0.1:${port}/bench?file=${encodeURIComponent(file)}&sig=bench`,
    close: () => new Promise((resolve) => server.close(resolve)),
  };
}

/** Starts the real CLI on a free port; resolves once it prints its listening line. */
async function startRuntime() {
  const child = spawn(
    process.execPath,
    [
      join(root, "packages/runtimeuse/bin/runtimeuse.js"),
      "--port",
      "0",
      "--host",
      "127.0.0.1",
      "--agent",
      "echo",
      "--log-level",
      process.env.BENCH_LOG_LEVEL ?? "warn",
    ],
    {
      stdio: ["ignore", "pipe", "inherit"],
    },
  );
  const lines = createInterface({ input: child.stdout });
  const url = await withTimeout(
    new Promise((resolve, reject) => {
      lines.on("line", (line) => {
        const match = /listening on (ws:\/\/\S+)/.exec(line);
        if (match) resolve(match[1]);
      });
      child.once("exit", (code) => reject(new Error(`runtime exited early with ${code}`)));
    }),
    30_000,
    "the runtime's listening line",
  );
  return { child, url };
}

/** Peak resident set of a process so far (Linux: VmHWM), in MB. */
async function peakRssMb(pid) {
  const status = await readFile(`/proc/${pid}/status`, "utf8");
  const match = /VmHWM:\s+(\d+) kB/.exec(status);
  return match ? Number(match[1]) / 1024 : Number.NaN;
}

function withTimeout(promise, ms, what) {
  let timer;
  return Promise.race([
    promise,
    new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

/**
 * One persistent session, driven like the published client: answers each
 * offer at once, sends one command, then end_session right after its result.
 */
async function session(url, sink, command, dir) {
  const ws = new WebSocket(url);
  await withTimeout(new Promise((resolve, reject) => ws.once("open", resolve).once("error", reject)), 10_000, "open");
  const offers = [];
  let resultAt = 0;
  const confirm = withTimeout(
    new Promise((resolve, reject) => {
      ws.on("message", (data) => {
        const frame = JSON.parse(String(data));
        if (frame.message_type === "artifact_upload_request_message") {
          offers.push(frame.filepath);
          ws.send(
            JSON.stringify({
              message_type: "artifact_upload_response_message",
              filename: frame.filename,
              filepath: frame.filepath,
              presigned_url: sink.urlFor(frame.filepath),
              content_type: "application/octet-stream",
            }),
          );
        } else if (frame.message_type === "command_execution_result_message") {
          resultAt = performance.now();
          if (frame.results.some((result) => result.exit_code !== 0)) reject(new Error(JSON.stringify(frame)));
          ws.send(JSON.stringify({ message_type: "end_session_message" }));
        } else if (frame.message_type === "error_message") {
          reject(new Error(`error_message: ${frame.error}`));
        } else if (frame.message_type === "end_session_confirm_message") {
          resolve({ manifest: frame.artifacts ?? [], confirmAt: performance.now() });
        }
      });
      ws.once("close", () => reject(new Error("connection closed before the confirm")));
    }),
    STEP_TIMEOUT_MS,
    "end_session_confirm_message",
  );
  ws.send(
    JSON.stringify({ message_type: "command_execution_message", commands: [{ command }], artifacts_dirs: [dir] }),
  );
  const { manifest, confirmAt } = await confirm;
  ws.close();
  return { offers, manifest, resultToConfirmMs: confirmAt - resultAt };
}

const checks = [];
function check(name, ok, detail) {
  checks.push({ name, ok, detail });
}

const work = await mkdtemp(join(tmpdir(), "rtu-bench-artifacts-"));
const sink = await startSink();
const runtime = await startRuntime();
const figures = {};
try {
  // 1. Many small files, end_session right after the result.
  const small = join(work, "small");
  const writeSmall = `mkdir -p ${small} && i=0; while [ $i -lt ${SMALL_FILES} ]; do head -c ${SMALL_BYTES} /dev/urandom > ${small}/f$i.bin; i=$((i+1)); done`;
  const many = await session(runtime.url, sink, writeSmall, small);
  figures.small_result_to_confirm_ms = Math.round(many.resultToConfirmMs);
  figures.server_peak_rss_after_small_mb = Math.round(await peakRssMb(runtime.child.pid));
  const exactlyOnce = Array.from(
    { length: SMALL_FILES },
    (_, i) => sink.uploads.get(join(small, `f${i}.bin`)) ?? [],
  ).every((list) => list.length === 1 && list[0].bytes === SMALL_BYTES && list[0].contentLength === SMALL_BYTES);
  check(
    `${SMALL_FILES} files x 64 KiB: each uploaded exactly once, full size`,
    exactlyOnce,
    `${sink.uploads.size} paths`,
  );
  check(
    `${SMALL_FILES} files: manifest lists all as uploaded`,
    many.manifest.length === SMALL_FILES && many.manifest.every((entry) => entry.status === "uploaded"),
    `${many.manifest.length} entries`,
  );
  check(
    `${SMALL_FILES} files: result -> confirm <= ${TARGET_CONFIRM_MS} ms`,
    many.resultToConfirmMs <= TARGET_CONFIRM_MS,
    `${figures.small_result_to_confirm_ms} ms`,
  );

  // 2. One big file. (The idle runtime's RSS is about 65 MB.)
  const big = join(work, "big");
  const mib = BIG_BYTES / (1024 * 1024);
  const one = await session(
    runtime.url,
    sink,
    `mkdir -p ${big} && head -c ${BIG_BYTES} /dev/zero > ${big}/big.bin`,
    big,
  );
  const bigUploads = sink.uploads.get(join(big, "big.bin")) ?? [];
  figures.big_mib = mib;
  const transferMs = bigUploads.at(-1)?.ms ?? Number.NaN;
  figures.big_upload_mb_per_s = Math.round((BIG_BYTES / 1e6 / (transferMs / 1000)) * 10) / 10;
  figures.big_result_to_confirm_ms = Math.round(one.resultToConfirmMs);
  figures.server_peak_rss_mb = Math.round(await peakRssMb(runtime.child.pid));
  check(`${mib} MiB file offered once`, one.offers.length === 1, `${one.offers.length} offers`);
  check(
    `${mib} MiB file uploaded once, full size`,
    bigUploads.length === 1 && bigUploads[0].bytes === BIG_BYTES,
    `${bigUploads.map((u) => u.bytes).join(",")}`,
  );
  check(
    `server peak RSS <= ${TARGET_RSS_MB} MB`,
    figures.server_peak_rss_mb <= TARGET_RSS_MB,
    `${figures.server_peak_rss_mb} MB`,
  );
} finally {
  runtime.child.kill("SIGTERM");
  await sink.close();
  await rm(work, { recursive: true, force: true });
}

for (const { name, ok, detail } of checks) console.log(`${ok ? "PASS" : "FAIL"}  ${name}  (${detail})`);
console.log(
  `figures: result->confirm ${figures.small_result_to_confirm_ms} ms for ${SMALL_FILES} x 64 KiB; ` +
    `${figures.big_mib} MiB upload ${figures.big_upload_mb_per_s} MB/s; server peak RSS ${figures.server_peak_rss_mb} MB`,
);
console.log(JSON.stringify({ bench: "artifacts", quick, ...figures, ok: checks.every((c) => c.ok) }));
process.exitCode = checks.every((c) => c.ok) ? 0 : 1;
