#!/usr/bin/env node
// `npm run bench [-- --quick]`: runs each bench script as its own child
// process, one after the other: core.mjs, then commands.mjs, artifacts.mjs,
// security.mjs, resume.mjs, release.mjs, conversations.mjs, agents.mjs and
// approvals.mjs when they exist. Arguments are passed to every script. It expects `npm ci` to have
// run; release.mjs builds dist/release.
//
// Contract for a bench script: it prints its figures (lib/report.mjs gives the
// common layout and records targets), exits 0 when it ran, whatever its
// targets, and non-zero when it could not run. This runner exits non-zero if
// any script failed to run or ran past its time limit; missed targets are
// listed in the summary but do not change the exit code.
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { loadLine } from "./lib/proc.mjs";
import { formatNumber } from "./lib/stats.mjs";

const SCRIPTS = [
  "core.mjs",
  "commands.mjs",
  "artifacts.mjs",
  "security.mjs",
  "resume.mjs",
  "release.mjs",
  "conversations.mjs",
  "agents.mjs",
  "approvals.mjs",
];
/** Per script; a full core run takes about two minutes. */
const SCRIPT_TIME_LIMIT_MS = 8 * 60_000;
const here = fileURLToPath(new URL(".", import.meta.url));
const args = process.argv.slice(2);

const resultsDir = mkdtempSync(join(tmpdir(), "runtimeuse-bench-results-"));
const resultsFile = join(resultsDir, "results.jsonl");
const outcomes = [];
const started = performance.now();

for (const name of SCRIPTS) {
  const script = join(here, name);
  if (!existsSync(script)) {
    outcomes.push({ name, status: "absent" });
    continue;
  }
  const scriptStarted = performance.now();
  const { code, signal, timedOut } = await runScript(script);
  const seconds = (performance.now() - scriptStarted) / 1000;
  let status = "ran";
  if (timedOut) status = `killed after the ${SCRIPT_TIME_LIMIT_MS / 60_000} min limit`;
  else if (code !== 0) status = `failed to run (exit ${code ?? signal})`;
  outcomes.push({ name, status, seconds });
}

const results = readResults();
rmSync(resultsDir, { recursive: true, force: true });
printSummary();
process.exitCode = outcomes.some((outcome) => outcome.status !== "ran" && outcome.status !== "absent") ? 1 : 0;

function runScript(script) {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [script, ...args], {
      stdio: "inherit",
      env: { ...process.env, BENCH_RESULTS_FILE: resultsFile },
    });
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill("SIGTERM");
      setTimeout(() => child.kill("SIGKILL"), 10_000).unref();
    }, SCRIPT_TIME_LIMIT_MS);
    child.once("error", (error) => {
      clearTimeout(timer);
      console.error(`cannot start ${script}: ${error.message}`);
      resolve({ code: 1, signal: null, timedOut });
    });
    child.once("exit", (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, timedOut });
    });
  });
}

function readResults() {
  try {
    return readFileSync(resultsFile, "utf8")
      .split("\n")
      .filter((line) => line.trim() !== "")
      .map((line) => JSON.parse(line));
  } catch {
    return [];
  }
}

function printSummary() {
  console.log(`\n=== bench summary (${((performance.now() - started) / 1000).toFixed(0)} s, ${loadLine()}) ===`);
  for (const { name, status, seconds } of outcomes) {
    const mine = results.filter((result) => result.script === name.replace(/\.mjs$/, ""));
    const met = mine.filter((result) => result.pass).length;
    const tally = status === "ran" && mine.length > 0 ? `, ${met} of ${mine.length} targets met` : "";
    const time = seconds === undefined ? "" : ` in ${seconds.toFixed(0)} s`;
    console.log(`  ${name.padEnd(16)} ${status}${time}${tally}`);
  }
  const missed = results.filter((result) => !result.pass);
  if (missed.length > 0) {
    console.log("  missed targets:");
    for (const result of missed) {
      const value =
        result.value === null ? "n/a" : `${formatNumber(result.value)}${result.unit ? ` ${result.unit}` : ""}`;
      console.log(
        `    ${result.script}: ${result.label} = ${value} (target ${result.op} ${formatNumber(result.limit)}${result.unit ? ` ${result.unit}` : ""})`,
      );
    }
  }
}
