import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { openFilesLimit, warnOnFewOpenFiles } from "../../src/server/open-files.js";
import { startCli } from "../agents/cli.js";
import { waitFor } from "../support/client.js";
import { memorySink } from "../support/server.js";

// Past the open-files limit the system hangs up on new connections before the
// runtime sees them, and nothing is logged then: the runtime says so at start.

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), "runtimeuse-open-files-"));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** A limits file as Linux writes /proc/self/limits, with the given soft limit on open files. */
async function limitsFile(soft: string): Promise<string> {
  const path = join(dir, `limits-${soft}`);
  await writeFile(
    path,
    [
      "Limit                     Soft Limit           Hard Limit           Units     ",
      "Max processes             63432                63432                processes ",
      `Max open files            ${soft.padEnd(20)} 1048576              files     `,
      "",
    ].join("\n"),
  );
  return path;
}

describe("the open-files limit", () => {
  test("is read from the limits file: a number, or nothing for unlimited or no file", async () => {
    assert.equal(await openFilesLimit(await limitsFile("1024")), 1024);
    assert.equal(await openFilesLimit(await limitsFile("unlimited")), undefined);
    assert.equal(await openFilesLimit(join(dir, "no-such-file")), undefined);
    if (existsSync("/proc/self/limits")) assert.equal(typeof (await openFilesLimit()), "number", "this machine's own");
  });

  test("below what the connection cap needs, one warning says so and what to change; enough, no line", async () => {
    const lines: string[] = [];
    await warnOnFewOpenFiles(memorySink(lines), 1024, await limitsFile("1024"));
    assert.deepEqual(lines, [
      "WARN the open-files limit (1024) is below what 1024 connections need: connections past it are hung up on before the runtime sees them; raise it (ulimit -n) or lower --max-connections open_files_limit=1024 max_connections=1024",
    ]);
    lines.length = 0;
    await warnOnFewOpenFiles(memorySink(lines), 100, await limitsFile("1024"));
    await warnOnFewOpenFiles(memorySink(lines), 1024, await limitsFile("unlimited"));
    await warnOnFewOpenFiles(memorySink(lines), 1024, join(dir, "no-such-file"));
    assert.deepEqual(lines, []);
  });

  test("the CLI started under `ulimit -n 256` with the default cap of 1024 connections warns once it listens", async () => {
    const cli = await startCli(["--agent", "echo", "--port", "0", "--host", "127.0.0.1"], process.env, undefined, 256);
    try {
      assert.ok(cli.url, cli.stderr());
      await waitFor(() => cli.stderr().includes("the open-files limit (256)"), 10_000, "the warning");
      assert.match(cli.stderr(), /WARN {2}the open-files limit \(256\) is below what 1024 connections need/);
    } finally {
      await cli.stop();
    }
  });
});
