#!/usr/bin/env node
// Conversation benchmark: what naming a conversation adds to a request. The
// runtime CLI runs the echo agent (`--agent echo`, which loads its
// conversation and appends the prompt to it) with a state directory of its
// own. Conversations of 1 MB and 10 MB are built through the runtime itself
// (requests with large prompts); then small requests alternate between no
// conversation and the big one on the same connection, and the overhead is
// the difference of their medians (load + save: a stat and one appended,
// fsynced line). Also shown, without targets: the first request after a
// restart (the file read and parsed once), and a handler that reads the whole
// history on every request (as the openai agent does).
//
// `node scripts/bench/conversations.mjs [--quick]`. Exits 0 when it ran.
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { connect } from "./lib/client.mjs";
import { invocationMessage } from "./lib/messages.mjs";
import { parseBenchArgs } from "./lib/options.mjs";
import { loadPerCpu } from "./lib/proc.mjs";
import { createReport } from "./lib/report.mjs";
import { assertBuilt, HANDLERS_DIR, RUNTIME_BIN, spawnListening } from "./lib/spawn.mjs";
import { median, percentile } from "./lib/stats.mjs";

const TARGETS_MS = { "1 MB": 5, "10 MB": 40 };
const SIZES = [
  { label: "1 MB", id: "bench-1mb", bytes: 1_000_000 },
  { label: "10 MB", id: "bench-10mb", bytes: 10_000_000 },
];
const PLANS = { full: { pairs: 200, warmup: 50, cold: 5 }, quick: { pairs: 60, warmup: 20, cold: 2 } };
/** Prompts that grow a conversation (one history entry each, as a few turns of an agent would add). */
const SEED_PROMPT_BYTES = 10_000;

const options = parseBenchArgs();
if (options.help) {
  console.log("usage: node scripts/bench/conversations.mjs [--quick]");
  process.exit(0);
}
assertBuilt();
const plan = options.quick ? PLANS.quick : PLANS.full;
const report = createReport("conversations", { quick: options.quick });
if (loadPerCpu() > 0.5) report.note("the machine is busy (load average above half the CPUs): figures are noisy");

const stateDir = mkdtempSync(join(tmpdir(), "runtimeuse-bench-state-"));
const running = [];

async function start(args) {
  const server = await spawnListening({
    script: RUNTIME_BIN,
    args: ["--port", "0", "--host", "127.0.0.1", "--state-dir", stateDir, "--log-level", "warn", ...args],
  });
  running.push(server);
  return server;
}

const request = (prompt, conversationId) =>
  JSON.stringify({ ...invocationMessage({ userPrompt: prompt }), conversation_id: conversationId ?? null });

async function timed(connection, text) {
  const started = performance.now();
  await connection.request(text);
  return performance.now() - started;
}

/** Grows conversation `id` through the runtime until its file holds about `bytes`. */
async function seed(connection, id, bytes) {
  const file = join(stateDir, "conversations", `${id}.jsonl`);
  const size = () => {
    try {
      return statSync(file).size;
    } catch {
      return 0;
    }
  };
  while (size() < bytes) {
    const left = bytes - size();
    await connection.request(request("x".repeat(Math.min(SEED_PROMPT_BYTES, Math.max(1, left - 100))), id), 120_000);
  }
  return size();
}

try {
  report.section("seeding (through the runtime, echo agent)");
  const echo = await start(["--agent", "echo"]);
  const connection = await connect(echo.url);
  for (const size of SIZES)
    report.row(`${size.label} conversation file`, await seed(connection, size.id, size.bytes), "bytes");

  report.section(`per request, warm runtime (${plan.pairs} pairs, alternating, one connection)`);
  for (let i = 0; i < plan.warmup; i++) {
    await connection.request(request("warm up"));
    await connection.request(request("warm up", SIZES[0].id));
  }
  for (const size of SIZES) {
    const without = [];
    const withIt = [];
    for (let i = 0; i < plan.pairs; i++) {
      without.push(await timed(connection, request("hello")));
      withIt.push(await timed(connection, request("hello", size.id)));
    }
    report.row(`no conversation: p50`, median(without), "ms");
    report.row(`${size.label} conversation: p50 / p95`, `${fmt(median(withIt))} / ${fmt(percentile(withIt, 95))} ms`);
    report.target({
      label: `${size.label}: load + save overhead (p50 difference)`,
      value: median(withIt) - median(without),
      unit: "ms",
      op: "<=",
      limit: TARGETS_MS[size.label],
    });
  }
  await connection.close();
  await echo.stop();

  report.section("first request after a restart (file read and parsed), no target");
  for (const size of SIZES) {
    const samples = [];
    for (let i = 0; i < plan.cold; i++) {
      const restarted = await start(["--agent", "echo"]);
      const fresh = await connect(restarted.url);
      await fresh.request(request("wake up"));
      samples.push((await timed(fresh, request("hello", size.id))) - (await timed(fresh, request("hello"))));
      await fresh.close();
      await restarted.stop();
    }
    report.row(`${size.label}: first request's extra time (median of ${plan.cold})`, median(samples), "ms");
  }

  report.section("a handler reading the whole history every request (as the openai agent does), no target");
  const reader = await start(["--handler", join(HANDLERS_DIR, "history.mjs")]);
  const readerConnection = await connect(reader.url);
  for (const size of SIZES) {
    const without = [];
    const withIt = [];
    for (let i = 0; i < Math.ceil(plan.pairs / 4); i++) {
      without.push(await timed(readerConnection, request("hello")));
      withIt.push(await timed(readerConnection, request("hello", size.id)));
    }
    report.row(`${size.label}: history() overhead (p50 difference)`, median(withIt) - median(without), "ms");
  }
  await readerConnection.close();
} catch (error) {
  console.error(`conversations bench failed: ${error instanceof Error ? (error.stack ?? error.message) : error}`);
  process.exitCode = 1;
} finally {
  await Promise.all(running.map((server) => server.stop()));
  rmSync(stateDir, { recursive: true, force: true });
}
report.finish();

function fmt(value) {
  return value.toFixed(2);
}
