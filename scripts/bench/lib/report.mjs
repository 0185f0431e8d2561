// Prints benchmark figures as aligned rows, with targets marked PASS or FAIL.
//
// Every bench script (core.mjs, commands.mjs, ...) uses this so the output
// reads the same. When BENCH_RESULTS_FILE is set (index.mjs sets it), every
// target is also appended to that file as one JSON line, so index.mjs can
// print one summary of all targets at the end.
import { appendFileSync } from "node:fs";
import { loadLine, machineLine } from "./proc.mjs";
import { formatNumber } from "./stats.mjs";

const LABEL_WIDTH = 52;
const VALUE_WIDTH = 14;

function show(value, unit) {
  if (typeof value === "string") return value;
  if (value === undefined || Number.isNaN(value)) return "n/a";
  return unit ? `${formatNumber(value)} ${unit}` : formatNumber(value);
}

/**
 * `createReport("core", { quick })` prints a header; then
 * - `section(title)` starts a block;
 * - `row(label, value, unit?, note?)` prints a figure;
 * - `target({ label, value, unit, op: "<=" | ">=", limit, limitText? })` prints a
 *   figure with its target and PASS/FAIL (a NaN value fails) and records it;
 * - `note(text)` prints an indented remark;
 * - `finish()` prints the tally and returns `{ passed, failed }`.
 */
export function createReport(script, { quick = false, header } = {}) {
  const results = [];
  const resultsFile = process.env.BENCH_RESULTS_FILE;
  console.log(`\n=== bench: ${script}${quick ? " (quick)" : ""} ===`);
  console.log(`    ${machineLine()}`);
  if (header) console.log(`    ${header}`);

  return {
    section(title) {
      console.log(`\n--- ${title}`);
    },
    row(label, value, unit, note) {
      const line = `  ${label.padEnd(LABEL_WIDTH)} ${show(value, unit).padStart(VALUE_WIDTH)}`;
      console.log(note ? `${line}   ${note}` : line);
    },
    target({ label, value, unit, op, limit, limitText }) {
      const pass = Number.isFinite(value) && (op === "<=" ? value <= limit : value >= limit);
      const targetText = `target ${op} ${limitText ?? show(limit, unit)}`;
      console.log(
        `  ${label.padEnd(LABEL_WIDTH)} ${show(value, unit).padStart(VALUE_WIDTH)}   ${targetText.padEnd(28)} ${pass ? "PASS" : "FAIL"}`,
      );
      const result = { script, label, value: Number.isFinite(value) ? value : null, unit, op, limit, pass };
      results.push(result);
      if (resultsFile) appendFileSync(resultsFile, `${JSON.stringify(result)}\n`);
      return pass;
    },
    note(text) {
      console.log(`      ${text}`);
    },
    finish() {
      const passed = results.filter((result) => result.pass).length;
      const failed = results.length - passed;
      console.log(`\n  ${script}: ${passed} of ${results.length} targets met${failed > 0 ? `, ${failed} missed` : ""}`);
      console.log(`    at the end: ${loadLine()}`);
      return { passed, failed };
    },
  };
}

export function mib(bytes) {
  return bytes / (1024 * 1024);
}
