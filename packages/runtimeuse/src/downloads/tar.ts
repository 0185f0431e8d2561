import { createReadStream } from "node:fs";
import { open } from "node:fs/promises";
import { pipeline } from "node:stream/promises";
import { createGunzip } from "node:zlib";
import { Parser, type ReadEntry } from "tar";
import type { Logger } from "../logger.js";
import { DownloadError } from "./errors.js";
import type { ExtractTarget } from "./extract-target.js";

/**
 * Extracts a .tar, .tar.gz or .tgz through `target`. Gzip is recognised by
 * its magic bytes and inflated by Node's asynchronous zlib stream (not the
 * parser's synchronous one), so a highly compressed archive never holds the
 * event loop; the parser is fed with backpressure and its entries are
 * handled one at a time, in archive order (a symlink exists before a later
 * entry could try to write through it).
 */
export async function extractTar(
  archivePath: string,
  archiveName: string,
  target: ExtractTarget,
  logger?: Pick<Logger, "warn">,
): Promise<void> {
  const parser = new Parser({ strict: true });
  let failure: unknown;
  let handling: Promise<void> = Promise.resolve();
  const parsed = new Promise<void>((resolve, reject) => {
    parser.once("end", resolve);
    parser.on("error", (error: Error) => {
      failure ??= invalid(archiveName, error);
      reject(failure);
    });
  });
  parsed.catch(() => {});
  parser.on("entry", (entry: ReadEntry) => {
    handling = handling.then(async () => {
      if (failure !== undefined) {
        entry.resume();
        return;
      }
      try {
        await handleEntry(entry, target, archiveName, logger);
      } catch (error) {
        failure ??= error;
        entry.resume();
      }
    });
  });

  const gzip = await startsWithGzipMagic(archivePath);
  const source = createReadStream(archivePath);
  const feed = async (chunks: AsyncIterable<Buffer>) => {
    for await (const chunk of chunks) {
      if (failure !== undefined) throw failure;
      if (!parser.write(chunk)) await drained(parser);
    }
    parser.end();
    await parsed;
  };
  try {
    if (gzip) await pipeline(source, createGunzip(), feed);
    else await pipeline(source, feed);
    await handling;
  } catch (error) {
    failure ??= error;
  }
  await handling;
  if (failure === undefined) return;
  if (failure instanceof DownloadError) throw failure;
  throw invalid(archiveName, failure);
}

async function handleEntry(
  entry: ReadEntry,
  target: ExtractTarget,
  archiveName: string,
  logger?: Pick<Logger, "warn">,
): Promise<void> {
  const segments = target.entry(entry.path);
  switch (entry.type) {
    case "Directory":
    case "GNUDumpDir":
      entry.resume();
      await target.directory(segments);
      return;
    case "File":
    case "OldFile":
    case "ContiguousFile":
      await target.file(segments, entry, entry.mode ?? 0o644);
      return;
    case "SymbolicLink":
      entry.resume();
      await target.symlink(segments, entry.linkpath ?? "");
      return;
    case "Link":
      entry.resume();
      await target.hardlink(segments, entry.linkpath ?? "");
      return;
    default:
      // Devices, FIFOs and the like have no place in a working directory.
      entry.resume();
      logger?.warn(`archive ${archiveName}: skipped entry "${entry.path}" of type ${entry.type}`);
  }
}

/** Waits for the parser to take more input (or to fail, which also ends the wait). */
function drained(parser: Parser): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      parser.off("drain", done);
      parser.off("error", done);
      resolve();
    };
    parser.on("drain", done);
    parser.on("error", done);
  });
}

async function startsWithGzipMagic(path: string): Promise<boolean> {
  const handle = await open(path, "r");
  try {
    const head = Buffer.alloc(2);
    const { bytesRead } = await handle.read(head, 0, 2, 0);
    return bytesRead === 2 && head[0] === 0x1f && head[1] === 0x8b;
  } finally {
    await handle.close();
  }
}

function invalid(archiveName: string, error: unknown): DownloadError {
  if (error instanceof DownloadError) return error;
  if ((error as NodeJS.ErrnoException).syscall !== undefined) {
    return new DownloadError(`archive ${archiveName}: cannot extract: ${(error as Error).message}`, "filesystem");
  }
  return new DownloadError(
    `archive ${archiveName} is not a valid tar file: ${(error as Error).message}`,
    "archive_invalid",
  );
}
