import assert from "node:assert/strict";
import fs from "node:fs";
import { mkdir, writeFile } from "node:fs/promises";
import { syncBuiltinESMExports } from "node:module";
import { join } from "node:path";
import { afterEach, test } from "node:test";
import { startHarness } from "./support/harness.js";

/*
 * A tree larger than the inotify limit makes every further watch fail with
 * ENOSPC, one failure per file. The failure is injected into `fs.watch`
 * (lowering the machine-wide limit would touch every other process); the
 * files, the walk and the uploads are real.
 */

const realWatch = fs.watch;
afterEach(() => {
  fs.watch = realWatch;
  syncBuiltinESMExports();
});

/** Every watch of a path under `dir` other than `dir` itself fails with ENOSPC; counts the calls. */
function inotifyExhaustedUnder(dir: string): { calls: number } {
  const count = { calls: 0 };
  fs.watch = ((path: string, ...rest: unknown[]) => {
    if (path.startsWith(`${dir}/`)) {
      count.calls++;
      throw Object.assign(new Error(`ENOSPC: System limit for number of file watchers reached, watch '${path}'`), {
        code: "ENOSPC",
      });
    }
    return (realWatch as (...args: unknown[]) => fs.FSWatcher)(path, ...rest);
  }) as typeof fs.watch;
  syncBuiltinESMExports();
  return count;
}

test("out of inotify watches, the watcher is let go after one log line, and the request's new files are still offered at its end", async () => {
  const h = await startHarness();
  try {
    await mkdir(join(h.dir, "data"));
    for (let i = 0; i < 200; i++) await writeFile(join(h.dir, "data", `before-${i}.txt`), "old");
    const watches = inotifyExhaustedUnder(h.dir);
    await h.manager.watch([h.dir], undefined);
    const failedWatches = watches.calls;
    assert.ok(failedWatches >= 1, "the watcher never tried to watch under the directory");

    await writeFile(join(h.dir, "data", "made-by-the-run.txt"), "new");
    const manifest = await h.manager.finish();
    assert.deepEqual(
      manifest.map((entry) => `${entry.filepath}: ${entry.status}`),
      [`${join(h.dir, "data", "made-by-the-run.txt")}: uploaded`],
    );
    const told = h.logs.filter((line) => line.message === "artifact watcher error");
    assert.equal(told.length, 1, JSON.stringify(told.slice(0, 3)));
    assert.match(String(told[0]?.fields?.error), /ENOSPC/);
    // Let go at the first failure: not one failed watch per file.
    assert.ok(failedWatches < 200, `${failedWatches} watches were tried`);
  } finally {
    await h.dispose();
  }
});
