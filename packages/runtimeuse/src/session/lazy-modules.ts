import { loadWatching } from "../artifacts/index.js";
import type { LogSink } from "../logger.js";

/** The download code: loaded for the first request with something to download, or by the preload. */
export function loadDownloads(): Promise<typeof import("../downloads/index.js")> {
  return import("../downloads/index.js");
}

/** The download code and its archive readers (tar, yauzl). */
async function loadDownloadsAndReaders(): Promise<void> {
  await (await loadDownloads()).loadArchiveReaders();
}

/** The output-schema check (ajv): loaded for the first result with a schema to check, or by the preload. */
export function loadOutputSchema(): Promise<typeof import("../output-schema.js")> {
  return import("../output-schema.js");
}

/**
 * Loads, one after another, the modules a request may need that the server
 * starts without: the artifact watcher, the download code and the
 * output-schema check. The server calls it once it listens, so that a request
 * finds them loaded, and so that a moment when the process has no free file
 * descriptor cannot break them for good: Node keeps a module that failed to
 * load failed until the process ends. Never rejects.
 */
export async function preloadRequestModules(log: LogSink): Promise<void> {
  for (const [name, load] of [
    ["artifact watcher", loadWatching],
    ["downloads", loadDownloadsAndReaders],
    ["output-schema check", loadOutputSchema],
  ] as const) {
    try {
      await load();
    } catch (error) {
      log.write("warn", `the ${name} could not be loaded ahead of use`, { error: String(error) });
    }
  }
}
