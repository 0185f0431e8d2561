import { realpath, rename, rm } from "node:fs/promises";
import { join } from "node:path";
import type { Downloadable } from "@runtimeuse/protocol";
import type { Logger } from "../logger.js";
import { makeDirectory } from "../make-directory.js";
import { redactText } from "../redact/index.js";
import { DownloadError, shownUrl as showUrl } from "./errors.js";
import { ExtractTarget } from "./extract-target.js";
import { fetchToFile } from "./fetch-to-file.js";
import { archiveKind, fileNameFromUrl } from "./file-name.js";
import { type DownloadLimits, resolveLimits } from "./limits.js";

export { DOWNLOAD_FAILED, DownloadError, type DownloadFailure } from "./errors.js";
export { archiveKind, fileNameFromUrl } from "./file-name.js";
export {
  checkDownloadLimits,
  DEFAULT_DOWNLOAD_LIMITS,
  DOWNLOAD_LIMIT_RANGES,
  type DownloadLimits,
} from "./limits.js";

/**
 * Loads the archive readers (`tar.ts` with tar, `zip.ts` with yauzl), which
 * this face does not import itself: `download` loads them with the first
 * archive, and the server's preload calls this once it listens, so that a
 * moment without free file descriptors later cannot leave them failed for good.
 */
export async function loadArchiveReaders(): Promise<void> {
  await Promise.all([import("./tar.js"), import("./zip.js")]);
}

export interface DownloadOptions {
  /** Aborts the transfer or extraction in progress; partial files are removed. */
  signal?: AbortSignal;
  /** Redacted from every message and log line that shows a URL. */
  secrets?: readonly string[];
  limits?: Partial<DownloadLimits>;
  logger?: Pick<Logger, "log" | "warn">;
}

/** What one downloadable became. */
export interface DownloadResult {
  /** The URL as shown in messages (no query, secrets redacted). */
  url: string;
  /** The file written, or the archive that was extracted (and removed). */
  path: string;
  bytes: number;
  extracted?: { entries: number; bytes: number };
}

/**
 * Downloads each item into its `working_dir` (created if missing), in order,
 * stopping at the first failure, which is thrown as a `DownloadError`.
 * `.zip`, `.tar`, `.tar.gz` and `.tgz` files are extracted into `working_dir`
 * and then removed.
 */
export async function downloadAll(
  items: readonly Downloadable[],
  options: DownloadOptions = {},
): Promise<DownloadResult[]> {
  const results: DownloadResult[] = [];
  for (const item of items) results.push(await downloadOne(item, options));
  return results;
}

export async function downloadOne(item: Downloadable, options: DownloadOptions = {}): Promise<DownloadResult> {
  const secrets = options.secrets ?? [];
  const shownUrl = showUrl(item.download_url, (text) => redactText(text, secrets));
  try {
    return await download(item, shownUrl, options);
  } catch (error) {
    if (error instanceof DownloadError) error.url = shownUrl;
    throw error;
  }
}

async function download(item: Downloadable, shownUrl: string, options: DownloadOptions): Promise<DownloadResult> {
  const secrets = options.secrets ?? [];
  const limits = resolveLimits(options.limits);
  let url: URL;
  try {
    url = new URL(item.download_url);
  } catch {
    throw new DownloadError(`not a valid URL: ${shownUrl}`, "invalid_url");
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new DownloadError(`only http and https URLs are supported: ${shownUrl}`, "invalid_url");
  }
  const name = fileNameFromUrl(url, shownUrl);
  let dir: string;
  try {
    await makeDirectory(item.working_dir);
    dir = await realpath(item.working_dir);
  } catch (error) {
    throw new DownloadError(
      `cannot create working_dir ${redactText(item.working_dir, secrets)}: ${(error as Error).message}`,
      "filesystem",
    );
  }
  options.logger?.log(`downloading ${shownUrl} into ${dir}`);
  const fetched = await fetchToFile({ url, shownUrl, dir, name, limits, ...withSignal(options.signal) });
  const kind = archiveKind(name);
  if (kind === undefined) {
    const path = join(dir, name);
    try {
      // rename replaces whatever is at `path` (a symlink included) rather than writing through it.
      await rename(fetched.path, path);
    } catch (error) {
      await rm(fetched.path, { force: true });
      throw new DownloadError(`cannot write ${name}: ${(error as Error).message}`, "filesystem");
    }
    return { url: shownUrl, path, bytes: fetched.bytes };
  }

  const target = new ExtractTarget(dir, name, fetched.bytes, limits, options.signal);
  try {
    // The archive readers load with the first archive (or the preload): importing this folder stays light.
    if (kind === "zip") await (await import("./zip.js")).extractZip(fetched.path, name, target);
    else await (await import("./tar.js")).extractTar(fetched.path, name, target, options.logger);
  } catch (error) {
    if (options.signal?.aborted) throw new DownloadError(`extraction of ${name} cancelled`, "cancelled");
    throw error;
  } finally {
    await rm(fetched.path, { force: true });
  }
  options.logger?.log(`extracted ${name}: ${target.entries} entries, ${target.bytes} bytes`);
  return {
    url: shownUrl,
    path: join(dir, name),
    bytes: fetched.bytes,
    extracted: { entries: target.entries, bytes: target.bytes },
  };
}

function withSignal(signal: AbortSignal | undefined): { signal?: AbortSignal } {
  return signal ? { signal } : {};
}
