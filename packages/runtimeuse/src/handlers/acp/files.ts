import { mkdir } from "node:fs/promises";
import { dirname, isAbsolute, resolve } from "node:path";
import type { ReadTextFileRequest, WriteTextFileRequest } from "@agentclientprotocol/sdk/unstable";
import { RequestError } from "@agentclientprotocol/sdk/unstable";
import { openRegularFileForWriting, readRegularText } from "../../regular-file.js";

/**
 * `fs/read_text_file` and `fs/write_text_file`: plain reads and writes on the
 * sandbox's file system (a written file is then seen by the artifact watcher
 * like any other). ACP paths are absolute; a relative one is taken from the
 * session's working directory. Only regular files are read or written: a
 * FIFO or a device (`/dev/zero`) is refused at once rather than waited on or
 * read without end.
 */
export async function readTextFile(
  params: ReadTextFileRequest,
  cwd: string,
  maxBytes: number,
): Promise<{ content: string }> {
  const path = absolute(params.path, cwd);
  try {
    const { size, text } = await readRegularText(path, maxBytes);
    if (text === undefined) {
      throw RequestError.invalidParams(
        { path, size, limit: maxBytes },
        `${path} is ${size} bytes, more than the ${maxBytes} bytes a read may return`,
      );
    }
    return { content: selectLines(text, params.line ?? undefined, params.limit ?? undefined) };
  } catch (error) {
    if (error instanceof RequestError) throw error;
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "ENOENT") throw RequestError.resourceNotFound(path);
    throw RequestError.internalError({ path, code }, `cannot read ${path}: ${(error as Error).message}`);
  }
}

export async function writeTextFile(params: WriteTextFileRequest, cwd: string): Promise<void> {
  const path = absolute(params.path, cwd);
  try {
    await mkdir(dirname(path), { recursive: true });
    const handle = await openRegularFileForWriting(path);
    try {
      await handle.truncate(0);
      await handle.writeFile(params.content, "utf8");
    } finally {
      await handle.close().catch(() => {});
    }
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw RequestError.internalError({ path, code }, `cannot write ${path}: ${(error as Error).message}`);
  }
}

/** Lines `line` (1-based) onwards, at most `limit` of them; the whole text without either. */
export function selectLines(text: string, line: number | undefined, limit: number | undefined): string {
  if (line === undefined && limit === undefined) return text;
  const lines = text.split("\n");
  const start = Math.max(0, (line ?? 1) - 1);
  const end = limit === undefined ? lines.length : start + Math.max(0, limit);
  return lines.slice(start, end).join("\n");
}

function absolute(path: string, cwd: string): string {
  return isAbsolute(path) ? path : resolve(cwd, path);
}
