import { createHash } from "node:crypto";
import type { FileHandle } from "node:fs/promises";
import http from "node:http";
import https from "node:https";
import { Transform } from "node:stream";
import { pipeline } from "node:stream/promises";
import { openRegularFile } from "../regular-file.js";
import { type FileStamp, sameStamp, stampOf } from "./files.js";

/**
 * Files up to this size are read whole and sent in one write (checked for
 * changes before a byte goes out); larger ones are streamed in chunks of this
 * size. Either way one upload holds about this much of the file in memory.
 */
export const READ_CHUNK_BYTES = 256 * 1024;
/** While streaming, the file is checked for changes after each this many bytes, and once more before the body ends. */
const CHANGE_CHECK_BYTES = 8 * 1024 * 1024;
/** How much of an error response's body is kept for the failure reason. */
const ERROR_BODY_BYTES = 2048;

export interface UploadAgents {
  http: http.Agent;
  https: https.Agent;
}

export interface PutOptions {
  path: string;
  url: URL;
  contentType: string;
  idleTimeoutMs: number;
  agents?: UploadAgents;
  signal?: AbortSignal;
}

/**
 * One attempt. `changed`: the file changed while it was read, and the
 * request was cut before its body ended, so the server stored nothing.
 */
export type PutResult =
  | { kind: "ok"; status: number; stamp: FileStamp; sha256: string }
  | { kind: "retry" | "fatal" | "changed"; error: string };

const CHANGED_ERROR = "file changed during upload";
const CHANGED: PutResult = { kind: "changed", error: CHANGED_ERROR };

function retryableStatus(status: number): boolean {
  return status >= 500 || status === 408 || status === 429;
}

/** One PUT of the file as it stands, `Content-Length` from its size when opened. Never throws. */
export async function putFile(options: PutOptions, checkChanges: boolean): Promise<PutResult> {
  if (options.signal?.aborted) return { kind: "fatal", error: "upload abandoned" };
  let handle: FileHandle;
  let stamp: FileStamp;
  try {
    const opened = await openRegularFile(options.path);
    handle = opened.handle;
    stamp = stampOf(opened.stats);
  } catch (error) {
    return { kind: "fatal", error: `cannot read file: ${(error as Error).message}` };
  }
  const unchanged = async () => !checkChanges || sameStamp(await handle.stat().then(stampOf, () => stamp), stamp);

  if (stamp.size <= READ_CHUNK_BYTES) {
    let body: Buffer;
    let same: boolean;
    try {
      const read = await handle.read(Buffer.alloc(stamp.size), 0, stamp.size, 0);
      body = read.buffer.subarray(0, read.bytesRead);
      same = body.length === stamp.size && (await unchanged());
    } catch (error) {
      return { kind: "fatal", error: `cannot read file: ${(error as Error).message}` };
    } finally {
      await handle.close().catch(() => {});
    }
    if (!same) return CHANGED;
    const sha256 = createHash("sha256").update(body).digest("hex");
    return send(
      options,
      stamp,
      () => sha256,
      (request) => request.end(body),
    );
  }

  const hash = createHash("sha256");
  let sent = 0;
  let checkedAt = 0;
  let changed = false;
  const check = async (): Promise<Error | null> => {
    checkedAt = sent;
    if (await unchanged()) return null;
    changed = true;
    return new Error(CHANGED_ERROR);
  };
  // Reads exactly the size announced in Content-Length. A change found on the
  // way, or in `flush` (before the body is ended), cuts the request.
  const meter = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      hash.update(chunk);
      sent += chunk.length;
      if (sent - checkedAt < CHANGE_CHECK_BYTES) return callback(null, chunk);
      void check().then((error) => callback(error, chunk));
    },
    flush(callback) {
      if (sent !== stamp.size) {
        changed = true;
        return callback(new Error(CHANGED_ERROR));
      }
      void check().then((error) => callback(error));
    },
  });
  const source = handle.createReadStream({ start: 0, end: stamp.size - 1, highWaterMark: READ_CHUNK_BYTES });
  return send(
    options,
    stamp,
    () => hash.digest("hex"),
    (request) => {
      pipeline(source, meter, request).catch((error: Error) => {
        if (!request.destroyed) request.destroy(error);
      });
    },
    () => changed,
  );
}

/**
 * Sends the request and settles on the server's answer. Once a status has
 * arrived it decides, whatever the socket does next; before that, a cut body
 * (`cut()`) means `changed`, anything else a retryable connection failure.
 */
function send(
  options: PutOptions,
  stamp: FileStamp,
  digest: () => string,
  writeBody: (request: http.ClientRequest) => void,
  cut: () => boolean = () => false,
): Promise<PutResult> {
  return new Promise<PutResult>((resolve) => {
    let status: number | undefined;
    let settled = false;
    const settle = (result: PutResult) => {
      if (settled) return;
      settled = true;
      options.signal?.removeEventListener("abort", onAbort);
      resolve(result);
    };
    const byStatus = (code: number, body: string) => {
      if (settled) return;
      if (code >= 200 && code < 300) return settle({ kind: "ok", status: code, stamp, sha256: digest() });
      const detail = body.replace(/\s+/g, " ").trim().slice(0, 200);
      settle({ kind: retryableStatus(code) ? "retry" : "fatal", error: `HTTP ${code}${detail ? `: ${detail}` : ""}` });
    };

    const secure = options.url.protocol === "https:";
    const request = (secure ? https : http).request(options.url, {
      method: "PUT",
      headers: { "content-type": options.contentType, "content-length": String(stamp.size) },
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
      response.on("end", () => byStatus(status ?? 0, Buffer.concat(kept).toString("utf8")));
      response.on("error", () => byStatus(status ?? 0, ""));
    });
    request.on("error", (error) => {
      if (options.signal?.aborted) settle({ kind: "fatal", error: "upload abandoned" });
      else if (status !== undefined) byStatus(status, "");
      // pipeline aborts the request with a generic "socket hang up"; the cause is kept by `cut`.
      else if (cut()) settle(CHANGED);
      else settle({ kind: "retry", error: error.message || String(error) });
    });
    request.on("close", () => {
      if (status === undefined)
        settle(cut() ? CHANGED : { kind: "retry", error: "connection closed before a response" });
    });
    writeBody(request);
  });
}
