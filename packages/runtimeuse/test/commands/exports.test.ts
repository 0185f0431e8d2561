import assert from "node:assert/strict";
import { test } from "node:test";
import * as commands from "../../src/commands/index.js";
import * as downloads from "../../src/downloads/index.js";

test("src/commands/index.ts exports exactly the runner API", () => {
  assert.deepEqual(Object.keys(commands).sort(), [
    "DEFAULT_KILL_GRACE_MS",
    "DEFAULT_MAX_CAPTURED_BYTES",
    "TailBuffer",
    "commandEnv",
    "detachedProcessGroups",
    "killDetachedProcessGroups",
    "noFreeDescriptors",
    "procProcesses",
    "runCommand",
    "spawnRefused",
    "spawnedWithoutPipes",
    "treeOf",
  ]);
});

test("src/downloads/index.ts exports exactly the download API", () => {
  assert.deepEqual(Object.keys(downloads).sort(), [
    "DEFAULT_DOWNLOAD_LIMITS",
    "DOWNLOAD_FAILED",
    "DOWNLOAD_LIMIT_RANGES",
    "DownloadError",
    "archiveKind",
    "checkDownloadLimits",
    "downloadAll",
    "downloadOne",
    "fileNameFromUrl",
    "loadArchiveReaders",
  ]);
});
