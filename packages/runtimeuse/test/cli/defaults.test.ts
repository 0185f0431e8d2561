import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { test } from "node:test";
import { USAGE } from "../../src/cli/args.js";

// --help reads every default from the module that owns it; README.md's flag
// table is written by hand, so it is held to what --help says.

/** `--flag` -> the text after "(default " in its --help entry. */
function helpDefaults(usage: string): Map<string, string> {
  const defaults = new Map<string, string>();
  for (const entry of usage.split(/\n(?= {2}-)/)) {
    const flag = /^ {2}(?:-\w, )?(--[\w-]+)/.exec(entry)?.[1];
    const value = /\(default:? ([^;)\s]+)/.exec(entry)?.[1];
    if (flag !== undefined && value !== undefined) defaults.set(flag, value);
  }
  return defaults;
}

/** "16 MiB" -> "16777216"; "30000" stays; anything else is not a number and is left out. */
function numeric(text: string): string | undefined {
  const match = /^(\d+)(?: (KiB|MiB|GiB))?$/.exec(text.trim());
  if (!match) return undefined;
  const scale = { KiB: 1024, MiB: 1024 ** 2, GiB: 1024 ** 3 }[match[2] ?? ""] ?? 1;
  return String(Number(match[1]) * scale);
}

test("every number in README.md's flag table is the default --help shows for that flag", async () => {
  const readme = await readFile(new URL("../../../../README.md", import.meta.url), "utf8");
  const help = helpDefaults(USAGE);
  const rows = [...readme.matchAll(/^\| `(--[\w-]+)[^|]*\|([^|]*)\|/gm)];
  assert.ok(rows.length >= 5, "README.md has a flag table");
  const checked: string[] = [];
  for (const [, flag = "", cell = ""] of rows) {
    const documented = numeric(cell);
    if (documented === undefined) continue;
    assert.equal(documented, help.get(flag), `README.md says ${flag} defaults to ${cell.trim()}`);
    checked.push(flag);
  }
  assert.ok(checked.length >= 5, `numeric defaults checked: ${checked.join(", ")}`);
});
