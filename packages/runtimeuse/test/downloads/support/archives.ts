import { gzipSync } from "node:zlib";
import { Header } from "tar";
import yazl from "yazl";

export interface ArchiveEntry {
  path: string;
  /** File contents (files only). */
  body?: Buffer | string;
  type?: "file" | "directory" | "symlink" | "hardlink";
  /** Symlink or hard link target. */
  linkpath?: string;
  mode?: number;
}

/**
 * A zip built with yazl. yazl refuses unsafe names, so an entry may carry a
 * placeholder name of the same byte length that is swapped for the real one
 * in the raw bytes (names are not covered by any checksum).
 */
export async function zipArchive(entries: ArchiveEntry[], rawNames: Record<string, string> = {}): Promise<Buffer> {
  const zip = new yazl.ZipFile();
  for (const entry of entries) {
    const type = entry.type ?? "file";
    if (type === "directory") zip.addEmptyDirectory(entry.path);
    else if (type === "symlink") {
      zip.addBuffer(Buffer.from(entry.linkpath ?? ""), entry.path, { mode: 0o120777, compress: false });
    } else zip.addBuffer(Buffer.from(entry.body ?? ""), entry.path, { mode: entry.mode ?? 0o100644 });
  }
  zip.end();
  const chunks: Buffer[] = [];
  for await (const chunk of zip.outputStream) chunks.push(chunk as Buffer);
  let bytes: Buffer = Buffer.concat(chunks);
  for (const [placeholder, real] of Object.entries(rawNames)) {
    if (Buffer.byteLength(placeholder) !== Buffer.byteLength(real)) throw new Error("placeholder length differs");
    bytes = replaceAll(bytes, Buffer.from(placeholder), Buffer.from(real));
  }
  return bytes;
}

function replaceAll(haystack: Buffer, from: Buffer, to: Buffer): Buffer {
  const out = Buffer.from(haystack);
  let at = out.indexOf(from);
  if (at === -1) throw new Error(`placeholder ${from} not found`);
  while (at !== -1) {
    to.copy(out, at);
    at = out.indexOf(from, at + from.length);
  }
  return out;
}

const TAR_TYPES = { file: "File", directory: "Directory", symlink: "SymbolicLink", hardlink: "Link" } as const;

/** A tar (gzipped when asked) written header by header, so any name or link can be put in. */
export function tarArchive(entries: ArchiveEntry[], gzip: boolean): Buffer {
  const blocks: Buffer[] = [];
  for (const entry of entries) {
    const type = entry.type ?? "file";
    const body = type === "file" ? Buffer.from(entry.body ?? "") : Buffer.alloc(0);
    const header = new Header({
      path: entry.path,
      mode: entry.mode ?? (type === "directory" ? 0o755 : 0o644),
      size: body.length,
      type: TAR_TYPES[type],
      mtime: new Date(0),
      uid: 0,
      gid: 0,
      ...(entry.linkpath === undefined ? {} : { linkpath: entry.linkpath }),
    });
    const block = Buffer.alloc(512);
    header.encode(block, 0);
    blocks.push(block, body, Buffer.alloc((512 - (body.length % 512)) % 512));
  }
  blocks.push(Buffer.alloc(1024));
  const tar = Buffer.concat(blocks);
  return gzip ? gzipSync(tar) : tar;
}
