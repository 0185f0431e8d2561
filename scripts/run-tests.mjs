#!/usr/bin/env node
// Runs every TypeScript test file (packages/*/test/**/*.test.ts) with Node's
// test runner, TypeScript loaded through tsx. Arguments narrow the set:
// `npm run test:ts -- session` runs the files whose path contains "session".
import { spawnSync } from "node:child_process";
import { existsSync, readdirSync, statSync } from "node:fs";
import { join, relative } from "node:path";

const root = new URL("..", import.meta.url).pathname;
const filters = process.argv.slice(2);

function walk(dir, out) {
  for (const name of readdirSync(dir)) {
    if (name === "node_modules" || name === "dist") continue;
    const path = join(dir, name);
    if (statSync(path).isDirectory()) walk(path, out);
    else if (name.endsWith(".test.ts")) out.push(relative(root, path));
  }
  return out;
}

const files = [];
for (const pkg of readdirSync(join(root, "packages"))) {
  const testDir = join(root, "packages", pkg, "test");
  try {
    if (statSync(testDir).isDirectory()) walk(testDir, files);
  } catch {}
}
const selected = files.filter((file) => filters.length === 0 || filters.some((f) => file.includes(f))).sort();
if (selected.length === 0) {
  console.error(`no test files match ${filters.join(" ")}`);
  process.exit(1);
}
// The CLI tests run bin/runtimeuse.js, which loads the bundle built from
// dist/cli/main.js; `tsc -b` (typecheck) refreshes dist but not the bundle.
if (existsSync(join(root, "packages/runtimeuse/dist/cli/main.js"))) {
  const bundled = spawnSync(process.execPath, [join(root, "packages/runtimeuse/scripts/bundle.mjs")], {
    stdio: "inherit",
  });
  if (bundled.status !== 0) process.exit(bundled.status ?? 1);
}
// The release tests (test/release/) share one build of dist/release, made here.
if (selected.some((file) => file.includes("/test/release/"))) {
  const released = spawnSync(process.execPath, [join(root, "scripts/release/index.mjs")], { stdio: "inherit" });
  if (released.status !== 0) process.exit(released.status ?? 1);
}
const result = spawnSync(
  process.execPath,
  ["--import", "tsx", "--test", "--test-reporter=spec", "--test-concurrency=2", "--test-timeout=120000", ...selected],
  { cwd: root, stdio: "inherit" },
);
process.exit(result.status ?? 1);
