import { createWriteStream } from "node:fs";
import { mkdir, rm } from "node:fs/promises";
import { basename, join } from "node:path";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import type { Downloadable } from "@runtimeuse/protocol";
import { redactText } from "../redact/redact.js";

/** A download that could not be completed; its message is safe to send (redacted). */
export class DownloadError extends Error {
  override readonly name = "DownloadError";
}

export interface DownloadOptions {
  signal?: AbortSignal;
  secrets?: readonly string[];
}

/** The file name a URL downloads to: its path's last segment, decoded. */
export function fileNameFromUrl(url: URL): string {
  const name = decodeURIComponent(basename(url.pathname));
  if (name === "" || name === "." || name === ".." || name.includes("/") || name.includes("\\")) {
    throw new DownloadError(`cannot derive a safe file name from the URL path ${url.pathname}`);
  }
  return name;
}

/** Downloads each item into its working_dir, in order. Plain files only. */
export async function downloadAll(items: readonly Downloadable[], options: DownloadOptions = {}): Promise<void> {
  for (const item of items) await downloadOne(item, options);
}

async function downloadOne(item: Downloadable, options: DownloadOptions): Promise<void> {
  const shown = redactText(item.download_url, options.secrets ?? []);
  let url: URL;
  try {
    url = new URL(item.download_url);
  } catch {
    throw new DownloadError(`download failed: not a valid URL: ${shown}`);
  }
  const name = fileNameFromUrl(url);
  await mkdir(item.working_dir, { recursive: true });
  const target = join(item.working_dir, name);
  let response: Response;
  try {
    response = await fetch(url, { signal: options.signal ?? null, redirect: "follow" });
  } catch (error) {
    throw new DownloadError(`download failed: ${shown}: ${(error as Error).message}`);
  }
  if (response.status >= 400 || response.body === null) {
    await response.body?.cancel();
    throw new DownloadError(`download failed with HTTP status ${response.status}: ${shown}`);
  }
  try {
    await pipeline(Readable.fromWeb(response.body as never), createWriteStream(target), {
      signal: options.signal ?? new AbortController().signal,
    });
  } catch (error) {
    await rm(target, { force: true });
    throw new DownloadError(`download failed: ${shown}: ${(error as Error).message}`);
  }
}
