#!/usr/bin/env node
// Summarises V8 .cpuprofile files (written by `node --cpu-prof`): the
// functions with the most self time and the most inclusive time.
// Standalone: `node scripts/bench/lib/cpuprofile.mjs <file-or-dir> [top]`.
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { pathToFileURL } from "node:url";
import { REPO_ROOT } from "./spawn.mjs";

function frameKey(frame) {
  const name = frame.functionName || "(anonymous)";
  let where = frame.url ?? "";
  if (where.startsWith("file://")) where = relative(REPO_ROOT, new URL(where).pathname);
  return where ? `${name} ${where}:${frame.lineNumber + 1}` : name;
}

/** `{ totalMs, self: [{ key, ms, share }], inclusive: [...] }`, largest first; `totalMs` is busy time. */
export function summarizeProfile(profile, top = 15) {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const selfUs = new Map();
  // Time per sample: the following delta, as V8 records it.
  const deltas = profile.timeDeltas ?? [];
  for (let i = 0; i < profile.samples.length; i++) {
    const id = profile.samples[i];
    selfUs.set(id, (selfUs.get(id) ?? 0) + (deltas[i + 1] ?? deltas[i] ?? 0));
  }
  // Shares are of busy time: samples where the thread was idle do not count.
  let totalUs = 0;
  for (const [id, us] of selfUs) if (byId.get(id)?.callFrame.functionName !== "(idle)") totalUs += us;

  const self = new Map();
  const inclusive = new Map();
  // Walk the call tree once; a function counts once per stack (recursion is not double-counted).
  const root = profile.nodes[0];
  const walk = (node, onStack) => {
    const key = frameKey(node.callFrame);
    const own = selfUs.get(node.id) ?? 0;
    self.set(key, (self.get(key) ?? 0) + own);
    let subtree = own;
    const entered = !onStack.has(key);
    if (entered) onStack.add(key);
    for (const childId of node.children ?? []) {
      const child = byId.get(childId);
      if (child) subtree += walk(child, onStack);
    }
    if (entered) {
      onStack.delete(key);
      inclusive.set(key, (inclusive.get(key) ?? 0) + subtree);
    }
    return subtree;
  };
  if (root) walk(root, new Set());

  const rank = (map) =>
    [...map.entries()]
      .filter(([key]) => key !== "(root)" && key !== "(idle)")
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([key, us]) => ({ key, ms: us / 1000, share: totalUs > 0 ? us / totalUs : 0 }));
  return { totalMs: totalUs / 1000, self: rank(self), inclusive: rank(inclusive) };
}

/** Every .cpuprofile file at `path` (a file or a directory, searched recursively). */
export function profileFiles(path) {
  if (!statSync(path).isDirectory()) return [path];
  return readdirSync(path).flatMap((name) => {
    const full = join(path, name);
    if (statSync(full).isDirectory()) return profileFiles(full);
    return name.endsWith(".cpuprofile") ? [full] : [];
  });
}

/** Prints the summary of one profile file. */
export function printProfile(file, top = 15) {
  const summary = summarizeProfile(JSON.parse(readFileSync(file, "utf8")), top);
  console.log(`\n  profile ${relative(process.cwd(), file)}: ${summary.totalMs.toFixed(0)} ms busy`);
  for (const [title, rows] of [
    ["self time", summary.self],
    ["inclusive time", summary.inclusive],
  ]) {
    console.log(`    top ${rows.length} by ${title}:`);
    for (const row of rows) {
      console.log(
        `      ${(row.share * 100).toFixed(1).padStart(5)}%  ${row.ms.toFixed(0).padStart(6)} ms  ${row.key}`,
      );
    }
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  const [path, top] = process.argv.slice(2);
  if (!path) {
    console.error("usage: node scripts/bench/lib/cpuprofile.mjs <file.cpuprofile | dir> [top]");
    process.exit(2);
  }
  for (const file of profileFiles(path)) printProfile(file, Number(top) || 15);
}
