import type { Readable } from "node:stream";
import yauzl from "yauzl";
import { DownloadError } from "./errors.js";
import type { ExtractTarget } from "./extract-target.js";

/** Longest symlink target read from a zip entry's data. */
const MAX_LINK_TARGET_BYTES = 4096;
const S_IFMT = 0o170000;
const S_IFLNK = 0o120000;
const S_IFDIR = 0o040000;
/** `versionMadeBy` high byte for archives made on Unix: only they carry a mode. */
const MADE_BY_UNIX = 3;

/**
 * Extracts a zip file entry by entry through `target`. yauzl reads the
 * central directory and inflates asynchronously, one entry at a time, so
 * memory stays small and the event loop is never held for long.
 */
export async function extractZip(archivePath: string, archiveName: string, target: ExtractTarget): Promise<void> {
  let zip: yauzl.ZipFile;
  try {
    // Names are decoded and checked here, not by yauzl, so every refusal reads the same.
    zip = await yauzl.openPromise(archivePath, { lazyEntries: true, decodeStrings: false, validateEntrySizes: true });
  } catch (error) {
    throw invalid(archiveName, error);
  }
  try {
    for await (const entry of zip.eachEntry()) {
      const name = yauzl.getFileNameLowLevel(entry.generalPurposeBitFlag, entry.fileNameRaw, entry.extraFields, false);
      const segments = target.entry(name);
      const unixMode = entry.versionMadeBy >> 8 === MADE_BY_UNIX ? entry.externalFileAttributes >>> 16 : 0;
      const type = unixMode & S_IFMT;
      if (name.endsWith("/") || type === S_IFDIR) {
        await target.directory(segments);
        continue;
      }
      if (entry.isEncrypted()) {
        throw new DownloadError(
          `archive ${archiveName}: entry "${name}" is encrypted; not supported`,
          "archive_invalid",
        );
      }
      if (type === S_IFLNK) {
        await target.symlink(segments, await readLinkTarget(zip, entry, archiveName, name));
        continue;
      }
      target.checkDeclared(name, entry.uncompressedSize, entry.compressedSize);
      const stream = await openEntry(zip, entry, archiveName);
      try {
        await target.file(segments, stream, unixMode & 0o777 || 0o644, entry.compressedSize);
      } catch (error) {
        stream.destroy();
        throw wrapStreamError(archiveName, error);
      }
    }
  } catch (error) {
    throw wrapStreamError(archiveName, error);
  } finally {
    zip.close();
  }
}

async function openEntry(zip: yauzl.ZipFile, entry: yauzl.Entry, archiveName: string): Promise<Readable> {
  try {
    return await zip.openReadStreamPromise(entry);
  } catch (error) {
    throw invalid(archiveName, error);
  }
}

async function readLinkTarget(
  zip: yauzl.ZipFile,
  entry: yauzl.Entry,
  archiveName: string,
  name: string,
): Promise<string> {
  if (entry.uncompressedSize > MAX_LINK_TARGET_BYTES) {
    throw new DownloadError(`archive ${archiveName}: symlink "${name}" has an oversized target`, "archive_invalid");
  }
  const chunks: Buffer[] = [];
  let length = 0;
  for await (const chunk of await openEntry(zip, entry, archiveName)) {
    length += (chunk as Buffer).length;
    if (length > MAX_LINK_TARGET_BYTES) {
      throw new DownloadError(`archive ${archiveName}: symlink "${name}" has an oversized target`, "archive_invalid");
    }
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString("utf8");
}

function invalid(archiveName: string, error: unknown): DownloadError {
  return new DownloadError(
    `archive ${archiveName} is not a valid zip file: ${(error as Error).message}`,
    "archive_invalid",
  );
}

/** Errors from yauzl's streams (bad data, size mismatch) become archive errors; ours pass through. */
function wrapStreamError(archiveName: string, error: unknown): DownloadError {
  if (error instanceof DownloadError) return error;
  if ((error as NodeJS.ErrnoException).syscall !== undefined) {
    return new DownloadError(`archive ${archiveName}: cannot extract: ${(error as Error).message}`, "filesystem");
  }
  return new DownloadError(`archive ${archiveName} is corrupt: ${(error as Error).message}`, "archive_invalid");
}
