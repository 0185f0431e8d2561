import { createHash } from "node:crypto";
import { open } from "node:fs/promises";
import http from "node:http";
import https from "node:https";
import { Transform } from "node:stream";
import { pipeline } from "node:stream/promises";
import { setTimeout as sleep } from "node:timers/promises";
import { type FileStamp, stampOf } from "./files.js";

/** Bytes read from disk per chunk; with the socket's buffer this bounds an upload's memory. */
const READ_CHUNK_BYTES = 64 * 1024;
/** How much of an error response's body is kept for the failure reason. */
const ERROR_BODY_BYTES = 2048;

export interface UploadAgents {
  http: http.Agent;
  https: https.Agent;
}

export interface UploadOptions {
  /** The file to read; the caller has already checked that it may be uploaded. */
  path: string;
  url: URL;
  contentType: string;
  /** An attempt that makes no progress (connecting, sending, awaiting the response) for this long is abandoned. */
  idleTimeoutMs: number;
  /** Further attempts after the first, for connection errors, timeouts, 408, 429 and 5xx. */
  retries: number;
  /** First backoff delay; doubled on each retry, capped at `maxBackoffMs`, with jitter. */
  backoffMs?: number;
  maxBackoffMs?: number;
  agents?: UploadAgents;
  /** Abandons the upload (no further attempts). */
  signal?: AbortSignal;
  onRetry?: (attempt: number, reason: string, delayMs: number) => void;
}

export type UploadOutcome =
  | { ok: true; status: number; stamp: FileStamp; sha256: string; attempts: number }
  | { ok: false; error: string; attempts: number };

type AttemptResult =
  | { kind: "ok"; status: number; stamp: FileStamp; sha256: string }
  | { kind: "retry" | "fatal"; error: string };

/**
 * PUTs a file to a (presigned) URL, streamed from disk with `Content-Length`
 * set, retrying transient failures with exponential backoff. Never throws:
 * every failure comes back as `{ ok: false, error }`. The SHA-256 returned is
 * of the bytes actually sent, so the caller knows exactly which content the
 * server has.
 */
export async function uploadFile(options: UploadOptions): Promise<UploadOutcome> {
  const base = options.backoffMs ?? 250;
  const cap = options.maxBackoffMs ?? 5000;
  for (let attemptNo = 1; ; attemptNo++) {
    const result = await attempt(options);
    if (result.kind === "ok") {
      return { ok: true, status: result.status, stamp: result.stamp, sha256: result.sha256, attempts: attemptNo };
    }
    if (result.kind === "fatal" || attemptNo > options.retries || options.signal?.aborted) {
      const suffix = attemptNo > 1 ? ` (after ${attemptNo} attempts)` : "";
      return { ok: false, error: `${result.error}${suffix}`, attempts: attemptNo };
    }
    const delay = Math.round(Math.min(cap, base * 2 ** (attemptNo - 1)) * (0.5 + Math.random() / 2));
    options.onRetry?.(attemptNo, result.error, delay);
    try {
      await sleep(delay, undefined, { signal: options.signal });
    } catch {
      return { ok: false, error: "upload abandoned", attempts: attemptNo };
    }
  }
}

/** Where an upload goes, for logs: the presigned query (a credential) is left out. */
export function describeTarget(url: URL): string {
  return `${url.origin}${url.pathname}`;
}

function retryableStatus(status: number): boolean {
  return status >= 500 || status === 408 || status === 429;
}

async function attempt(options: UploadOptions): Promise<AttemptResult> {
  if (options.signal?.aborted) return { kind: "fatal", error: "upload abandoned" };
  let handle: Awaited<ReturnType<typeof open>>;
  try {
    handle = await open(options.path, "r");
  } catch (error) {
    return { kind: "fatal", error: `cannot read file: ${(error as Error).message}` };
  }
  let stamp: FileStamp;
  try {
    const stats = await handle.stat();
    if (!stats.isFile()) throw new Error("not a regular file");
    stamp = stampOf(stats);
  } catch (error) {
    await handle.close().catch(() => {});
    return { kind: "fatal", error: `cannot read file: ${(error as Error).message}` };
  }
  const size = stamp.size;
  return new Promise<AttemptResult>((resolve) => {
    const hash = createHash("sha256");
    let sent = 0;
    let status: number | undefined;
    let settled = false;
    const settle = (result: AttemptResult) => {
      if (settled) return;
      settled = true;
      options.signal?.removeEventListener("abort", onAbort);
      resolve(result);
    };
    // Once the server has answered, its status decides, whatever the socket does next.
    const byStatus = (code: number, body: string): AttemptResult => {
      if (settled) return { kind: "fatal", error: "already settled" };
      if (code >= 200 && code < 300) {
        if (sent !== size) return { kind: "retry", error: "file changed size during upload" };
        return { kind: "ok", status: code, stamp, sha256: hash.digest("hex") };
      }
      const detail = body.replace(/\s+/g, " ").trim().slice(0, 200);
      return { kind: retryableStatus(code) ? "retry" : "fatal", error: `HTTP ${code}${detail ? `: ${detail}` : ""}` };
    };

    const secure = options.url.protocol === "https:";
    const request = (secure ? https : http).request(options.url, {
      method: "PUT",
      headers: { "content-type": options.contentType, "content-length": String(size) },
      agent: secure ? options.agents?.https : options.agents?.http,
      timeout: options.idleTimeoutMs,
    });
    const onAbort = () => request.destroy(new Error("upload abandoned"));
    options.signal?.addEventListener("abort", onAbort, { once: true });
    request.on("timeout", () => request.destroy(new Error(`no progress for ${options.idleTimeoutMs} ms`)));
    request.on("response", (response) => {
      status = response.statusCode ?? 0;
      const kept: Buffer[] = [];
      let keptBytes = 0;
      response.on("data", (chunk: Buffer) => {
        if (keptBytes < ERROR_BODY_BYTES) {
          kept.push(chunk);
          keptBytes += chunk.length;
        }
      });
      response.on("end", () => settle(byStatus(status ?? 0, Buffer.concat(kept).toString("utf8"))));
      response.on("error", () => settle(byStatus(status ?? 0, "")));
    });
    request.on("error", (error) => {
      if (options.signal?.aborted) settle({ kind: "fatal", error: "upload abandoned" });
      else if (status !== undefined) settle(byStatus(status, ""));
      else settle({ kind: "retry", error: error.message || String(error) });
    });
    request.on("close", () => {
      if (status === undefined) settle({ kind: "retry", error: "connection closed before a response" });
    });

    if (size === 0) {
      void handle.close().catch(() => {});
      request.end();
      return;
    }
    // Reads exactly the size announced in Content-Length; a file that shrinks meanwhile fails the attempt.
    const source = handle.createReadStream({ start: 0, end: size - 1, highWaterMark: READ_CHUNK_BYTES });
    const meter = new Transform({
      transform(chunk: Buffer, _encoding, callback) {
        hash.update(chunk);
        sent += chunk.length;
        callback(null, chunk);
      },
      flush(callback) {
        callback(sent === size ? null : new Error("file changed size during upload"));
      },
    });
    pipeline(source, meter, request).catch((error: Error) => {
      if (!request.destroyed) request.destroy(error);
    });
  });
}
