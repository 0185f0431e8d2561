import assert from "node:assert/strict";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import ts from "typescript";

// The layer stack is written once, as the table in docs/ARCHITECTURE.md
// "Layers"; this test reads it from there and checks every import of every
// file under src/ against it.

const SRC = fileURLToPath(new URL("../../src/", import.meta.url));
const ARCHITECTURE = fileURLToPath(new URL("../../../../docs/ARCHITECTURE.md", import.meta.url));

/** A folder under src/ (`session`) or a file directly in it (`logger.ts`), with its layer number. */
export type Layers = ReadonlyMap<string, number>;

/** The rows of the "Layers" table: `| 6 | `session/` | ...`. The package face (`index.ts`) is outside the stack. */
export function readLayers(markdown: string): Map<string, number> {
  const section = markdown.split(/^## /m).find((part) => part.startsWith("Layers"));
  assert.ok(section, 'docs/ARCHITECTURE.md has a "Layers" section');
  const layers = new Map<string, number>();
  for (const match of section.matchAll(/^\|\s*(\d+)\s*\|\s*`([^`]+)`/gm)) {
    layers.set((match[2] ?? "").replace(/\/$/, ""), Number(match[1]));
  }
  return layers;
}

/** The unit a src-relative path belongs to: its top folder, or the file itself at the top. */
function unitOf(path: string): string {
  return path.split("/")[0] ?? path;
}

function isFolder(unit: string): boolean {
  return !unit.endsWith(".ts");
}

/**
 * What breaks the stack in `imports` (src-relative file -> the src-relative
 * files it imports, statically, dynamically or for types):
 * - a file in no layer;
 * - an import of a unit on the same or a higher layer (only lower ones may be imported);
 * - an import into another folder that bypasses its face, `index.ts`;
 * - a face no other unit imports (unreachable);
 * - an import of the package face (`index.ts`) from inside the package.
 * The package face itself may import every layer, each through its face.
 */
export function layerViolations(imports: ReadonlyMap<string, readonly string[]>, layers: Layers): string[] {
  const problems: string[] = [];
  const facesUsed = new Set<string>();
  for (const [file, targets] of imports) {
    const from = unitOf(file);
    // The package face sits above the stack: it may re-export any layer, through its face.
    const fromLayer = file === "index.ts" ? Number.POSITIVE_INFINITY : layers.get(from);
    if (fromLayer === undefined) {
      problems.push(`${file}: ${from} is in no layer of docs/ARCHITECTURE.md`);
      continue;
    }
    for (const target of targets) {
      const to = unitOf(target);
      if (to === from) continue;
      if (target === "index.ts") {
        problems.push(`${file} imports the package face index.ts`);
        continue;
      }
      const toLayer = layers.get(to);
      if (toLayer === undefined) {
        problems.push(`${file} imports ${target}, in no layer`);
        continue;
      }
      if (toLayer >= fromLayer) {
        problems.push(
          `${file} (layer ${fromLayer}) imports ${target} (layer ${toLayer}): only lower layers may be imported`,
        );
      }
      if (isFolder(to)) {
        if (target === `${to}/index.ts`) facesUsed.add(to);
        else problems.push(`${file} imports ${target}, bypassing ${to}/index.ts`);
      }
    }
  }
  for (const file of imports.keys()) {
    const unit = unitOf(file);
    if (isFolder(unit) && file === `${unit}/index.ts` && !facesUsed.has(unit)) {
      problems.push(`${file} is a face no other folder imports: remove it, or import ${unit} through it`);
    }
  }
  return problems;
}

function sourceFiles(dir: string, out: string[] = []): string[] {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) sourceFiles(path, out);
    else if (name.endsWith(".ts")) out.push(path);
  }
  return out;
}

/** Every src file's relative imports, resolved to src-relative `.ts` paths. */
function srcImports(): Map<string, string[]> {
  const imports = new Map<string, string[]>();
  for (const path of sourceFiles(SRC)) {
    const found = ts.preProcessFile(readFileSync(path, "utf8"), true, true).importedFiles;
    const targets = found
      .map((entry) => entry.fileName)
      .filter((name) => name.startsWith("."))
      .map((name) => relative(SRC, resolve(dirname(path), name)).replace(/\.js$/, ".ts"));
    imports.set(relative(SRC, path), targets);
  }
  return imports;
}

describe("layers", () => {
  const layers = readLayers(readFileSync(ARCHITECTURE, "utf8"));

  test("every src file imports only lower layers, each folder through its index.ts", () => {
    assert.deepEqual(layerViolations(srcImports(), layers), []);
  });

  test("the layer table names every folder and top-level file under src/", () => {
    const units = new Set([...srcImports().keys()].map(unitOf));
    units.delete("index.ts");
    assert.deepEqual([...units].sort(), [...layers.keys()].sort());
  });

  test("an upward import, a bypassed face and an unreachable face are each reported", () => {
    const graph = new Map<string, string[]>([
      ["commands/runner.ts", ["session/index.ts"]],
      ["session/index.ts", ["session/engine.ts"]],
      ["session/engine.ts", ["commands/runner.ts", "redact/redact.ts"]],
      ["commands/index.ts", []],
      ["redact/index.ts", []],
      ["redact/redact.ts", []],
    ]);
    const problems = layerViolations(graph, layers);
    assert.ok(
      problems.some((p) => p.startsWith("commands/runner.ts (layer 4) imports session/index.ts")),
      problems.join("\n"),
    );
    assert.ok(problems.includes("session/engine.ts imports commands/runner.ts, bypassing commands/index.ts"));
    assert.ok(
      problems.includes("redact/index.ts is a face no other folder imports: remove it, or import redact through it"),
    );
    assert.ok(
      problems.includes(
        "commands/index.ts is a face no other folder imports: remove it, or import commands through it",
      ),
    );
  });
});
