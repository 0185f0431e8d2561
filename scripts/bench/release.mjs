#!/usr/bin/env node
// Release benchmark: what a sandbox gets from `npm run release`.
//   - installed size of the runtime tarball without agent SDKs (slim, target
//     from the install test) and with both agents' SDKs (full);
//   - start to listening of runtimeuse.mjs and of the installed bin;
//   - a fleet: 8 bubblewrap sandboxes (one runtime each, the slim install,
//     echo agent) driven at once through examples/fleet.ts, 20 requests each
//     over one session: requests/s, latency percentiles, failures.
// Installs come from the loopback npm registry the release tests use, so the
// run needs no network. Runs alone: `node scripts/bench/release.mjs [--quick]`;
// builds dist/release first (npm run release). The fleet part needs bubblewrap
// and tini, as the isolation tests do.
//
// Exits 0 when it ran, whatever the figures; non-zero when it could not run.
import { spawn } from "node:child_process";
import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { tsImport } from "tsx/esm/api";
import { parseBenchArgs } from "./lib/options.mjs";
import { createReport } from "./lib/report.mjs";
import { REPO_ROOT } from "./lib/spawn.mjs";
import { summarize } from "./lib/stats.mjs";

const { quick } = parseBenchArgs();
const SANDBOXES = 8;
const REQUESTS_PER_SANDBOX = quick ? 5 : 20;
const START_RUNS = quick ? 3 : 10;
const TARGETS = { fleetFailures: 0 };

const support = (path) => tsImport(join(REPO_ROOT, "packages/runtimeuse/test/release/support", path), import.meta.url);
const { startLocalRegistry } = await support("registry.ts");
const { diskUsage, installRuntime, npm, SLIM_INSTALL_LIMIT_BYTES } = await support("install.ts");
const { requireBubblewrap, shareWithSandbox, startSandbox } = await support("bwrap.ts");
const { startListening } = await support("process.ts");
const { builtRelease } = await support("release.ts");
const { AGENT_PACKAGES } = await tsImport(
  join(REPO_ROOT, "packages/runtimeuse/src/handlers/agent-packages.ts"),
  import.meta.url,
);
const { runFleet } = await tsImport(join(REPO_ROOT, "examples/fleet.ts"), import.meta.url);

await run(process.execPath, [join(REPO_ROOT, "scripts/release/index.mjs")]);
const files = await builtRelease();

const report = createReport("release", { quick });
const ROOT_OVERRIDES = JSON.parse(await readFile(join(REPO_ROOT, "package.json"), "utf8")).overrides ?? {};
const dir = await mkdtemp(join(tmpdir(), "runtimeuse-bench-release-"));
const registry = await startLocalRegistry(REPO_ROOT);
try {
  await shareWithSandbox(dir, "readable");
  const cache = join(dir, "npm-cache");

  report.section("installed size (npm install -g of the release tarball into an empty prefix; du)");
  const slim = join(dir, "slim");
  const bin = await installRuntime(files.runtime, slim, registry, cache);
  report.target({
    label: "slim: runtime, no agent SDK",
    value: (await diskUsage(slim)) / 1e6,
    unit: "MB",
    op: "<=",
    limit: SLIM_INSTALL_LIMIT_BYTES / 1e6,
  });
  const full = join(dir, "full");
  const sdks = Object.values(AGENT_PACKAGES)
    .flat()
    .map((pkg) => `${pkg.name}@${pkg.range}`);
  // The local registry serves only the versions this repository installed,
  // and the repository shares one Claude Agent SDK between the claude agent
  // and claude-agent-acp (root package.json overrides); a project install
  // with the same override reproduces that here. A user installing from the
  // public registry without it gets claude-agent-acp's own pinned copy too.
  await mkdir(full);
  await writeFile(join(full, "package.json"), JSON.stringify({ private: true, overrides: ROOT_OVERRIDES }));
  await npm(["install", "--prefix", full, files.runtime, ...sdks], registry, cache);
  report.row("full: runtime with every agent package (one shared Claude SDK)", (await diskUsage(full)) / 1e6, "MB");

  report.section(`start to listening (spawn to the listening line; ${START_RUNS} runs each, echo agent)`);
  const alone = join(dir, "alone");
  await mkdir(alone);
  await copyFile(files.oneFile, join(alone, "runtimeuse.mjs"));
  const env = { PATH: process.env.PATH, HOME: dir };
  const echo = ["--agent", "echo", "--port", "0", "--host", "127.0.0.1"];
  for (const [label, command, args] of [
    ["node runtimeuse.mjs (one file)", process.execPath, ["runtimeuse.mjs", ...echo]],
    ["installed bin (npm install -g)", bin, echo],
  ]) {
    const samples = [];
    for (let i = 0; i < START_RUNS; i++) {
      const started = performance.now();
      const runtime = await startListening(command, args, { cwd: alone, env });
      samples.push(performance.now() - started);
      await runtime.stop();
    }
    const stats = summarize(samples);
    report.row(`${label}: median`, stats.p50, "ms", `min ${stats.min.toFixed(0)}, max ${stats.max.toFixed(0)} ms`);
  }

  report.section(`fleet: ${SANDBOXES} bubblewrap sandboxes x ${REQUESTS_PER_SANDBOX} requests (examples/fleet.ts)`);
  await requireBubblewrap();
  const sandboxes = await Promise.all(
    Array.from({ length: SANDBOXES }, async (_, i) => {
      const workspace = join(dir, `workspace-${i}`);
      await mkdir(workspace);
      await shareWithSandbox(workspace, "writable");
      const sandbox = await startSandbox({ prefix: slim, workspace, args: echo, hostname: `bench-${i}` });
      return { name: `bench-${i}`, url: sandbox.url, sandbox };
    }),
  );
  try {
    const latencies = [];
    const started = performance.now();
    const outcomes = await runFleet(sandboxes, async (client) => {
      const session = await client.session();
      let failures = 0;
      try {
        for (let i = 0; i < REQUESTS_PER_SANDBOX; i++) {
          const sent = performance.now();
          try {
            await session.query(`request ${i}`, { systemPrompt: "bench", model: "echo", timeout: 60_000 });
            latencies.push(performance.now() - sent);
          } catch {
            failures++;
          }
        }
      } finally {
        await session.close();
      }
      return failures;
    });
    const seconds = (performance.now() - started) / 1000;
    const failures = outcomes.reduce((sum, outcome) => sum + (outcome.ok ? outcome.value : REQUESTS_PER_SANDBOX), 0);
    const stats = summarize(latencies);
    report.row("requests/s (all sandboxes, session set-up included)", latencies.length / seconds, "req/s");
    report.row("latency p50", stats.p50, "ms");
    report.row("latency p99", stats.p99, "ms");
    report.target({ label: "failed requests", value: failures, op: "<=", limit: TARGETS.fleetFailures });
  } finally {
    await Promise.all(sandboxes.map(({ sandbox }) => sandbox.kill()));
  }
} finally {
  await registry.close();
  await rm(dir, { recursive: true, force: true });
}
report.finish();

function run(command, args) {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ["ignore", "ignore", "inherit"] });
    child.once("exit", (code) => (code === 0 ? resolve() : reject(new Error(`${args.join(" ")} exited with ${code}`))));
  });
}
