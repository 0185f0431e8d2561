import { randomBytes } from "node:crypto";
import { createWriteStream } from "node:fs";
import { rm } from "node:fs/promises";
import { STATUS_CODES } from "node:http";
import { join } from "node:path";
import { Readable, Transform } from "node:stream";
import { pipeline } from "node:stream/promises";
import { DownloadError } from "./errors.js";
import type { DownloadLimits } from "./limits.js";

export interface FetchToFileOptions {
  url: URL;
  /** The URL as it may be shown (see `shownUrl`). */
  shownUrl: string;
  /** Directory the temporary file is created in (the download's working_dir). */
  dir: string;
  /** The final name, only used to name the temporary file. */
  name: string;
  limits: DownloadLimits;
  signal?: AbortSignal;
}

/**
 * Streams the body of `url` into a new temporary file in `dir` and returns
 * its path and size. Redirects are followed. The temporary name is random and
 * created exclusively, so nothing already in `dir` (a symlink planted by an
 * earlier command, say) is written through. On any failure, cancel included,
 * the temporary file is removed before the error is thrown.
 */
export async function fetchToFile(options: FetchToFileOptions): Promise<{ path: string; bytes: number }> {
  const { shownUrl, limits } = options;
  const idle = new AbortController();
  const signal = options.signal ? AbortSignal.any([options.signal, idle.signal]) : idle.signal;
  let idleTimer: NodeJS.Timeout | undefined;
  /** Body bytes since the timer was last started: it starts again only once they reach `minProgressBytes`. */
  let progress = 0;
  const touch = () => {
    progress = 0;
    if (idleTimer) clearTimeout(idleTimer);
    idleTimer = setTimeout(() => idle.abort(), limits.idleTimeoutMs);
  };
  const failure = (error: unknown): DownloadError => {
    if (error instanceof DownloadError) return error;
    if (options.signal?.aborted) return new DownloadError(`cancelled: ${shownUrl}`, "cancelled");
    if (idle.signal.aborted) {
      return new DownloadError(
        `stalled: less than ${limits.minProgressBytes} bytes in ${limits.idleTimeoutMs} ms from ${shownUrl}`,
        "stalled",
      );
    }
    if ((error as NodeJS.ErrnoException).syscall !== undefined) {
      return new DownloadError(`cannot write into ${options.dir}: ${(error as Error).message}`, "filesystem");
    }
    const cause = (error as { cause?: { message?: string } }).cause?.message;
    const detail = (error as Error).message + (cause ? ` (${cause})` : "");
    return new DownloadError(`${shownUrl}: ${detail}`, "network");
  };

  touch();
  let response: Response;
  try {
    response = await fetch(options.url, { signal, redirect: "follow" });
  } catch (error) {
    clearTimeout(idleTimer);
    throw failure(error);
  }
  if (response.status >= 400 || response.body === null) {
    clearTimeout(idleTimer);
    await response.body?.cancel().catch(() => {});
    const reason = response.statusText || STATUS_CODES[response.status];
    throw new DownloadError(`${response.status}${reason ? ` ${reason}` : ""}`, "http_status", response.status);
  }
  const declared = Number(response.headers.get("content-length") ?? Number.NaN);
  if (declared > limits.maxDownloadBytes) {
    clearTimeout(idleTimer);
    await response.body.cancel().catch(() => {});
    throw tooLarge(shownUrl, limits);
  }

  const path = join(options.dir, `.${options.name}.${randomBytes(6).toString("hex")}.download`);
  let bytes = 0;
  const meter = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      bytes += chunk.length;
      progress += chunk.length;
      if (progress >= limits.minProgressBytes) touch();
      if (bytes > limits.maxDownloadBytes) callback(tooLarge(shownUrl, limits));
      else callback(null, chunk);
    },
  });
  try {
    await pipeline(
      Readable.fromWeb(response.body as import("node:stream/web").ReadableStream),
      meter,
      createWriteStream(path, { flags: "wx" }),
      { signal },
    );
    return { path, bytes };
  } catch (error) {
    await rm(path, { force: true });
    throw failure(error);
  } finally {
    clearTimeout(idleTimer);
  }
}

function tooLarge(shownUrl: string, limits: DownloadLimits): DownloadError {
  return new DownloadError(`larger than the limit of ${limits.maxDownloadBytes} bytes: ${shownUrl}`, "too_large");
}
