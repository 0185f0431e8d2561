#!/usr/bin/env node
// Core benchmark: the runtime CLI with deterministic handlers on loopback,
// each server a real child process, against a bare `ws` baseline server
// measured in the same run. `node scripts/bench/core.mjs [--quick] [--cpu-prof <dir>]`.
// Exits 0 when it ran (a missed target prints FAIL), 1 when it could not run.
import { mkdirSync } from "node:fs";
import { setTimeout as sleep } from "node:timers/promises";
import { printProfile, profileFiles } from "./lib/cpuprofile.mjs";
import { concurrent, oneShots, ordered, persistent, stream, warmUp } from "./lib/load.mjs";
import { burstBlock, echoRequestText, streamBlock, streamRequestText } from "./lib/messages.mjs";
import { cpuProfFlags, parseBenchArgs } from "./lib/options.mjs";
import { cpuMs, loadPerCpu, peakRssBytes, rssBytes, sampleRss } from "./lib/proc.mjs";
import { createReport, mib } from "./lib/report.mjs";
import { assertBuilt, spawnBaseline, spawnRuntime } from "./lib/spawn.mjs";
import { median, summarize } from "./lib/stats.mjs";

const TARGETS = {
  startupMs: 200,
  idleRssMiB: 70,
  /** Runtime / baseline, each measured in the same run. */
  persistentRatio: 0.9,
  cpuRatio: 1.2,
  oneShotP50Ratio: 1.1,
  concurrentRatio: 0.85,
  concurrentP99Ratio: 1.2,
  streamRatio: 0.85,
  /** Peak RSS above the idle RSS of the same server while a burst is held. */
  burstRssMiB: 30,
  heldBackRssMiB: 30,
};

const PLANS = {
  full: {
    startups: 9,
    oneShots: 400,
    rounds: 6,
    persistentMs: 2_500,
    warmupRequests: 15_000,
    warmupMs: 8_000,
    streamMessages: 100_000,
    burstMessages: 100_000,
    heldBackMessages: 300_000,
    heldBackPauseMs: 2_000,
  },
  quick: {
    startups: 3,
    oneShots: 100,
    rounds: 2,
    persistentMs: 1_000,
    warmupRequests: 4_000,
    warmupMs: 3_000,
    streamMessages: 100_000,
    burstMessages: 100_000,
    heldBackMessages: 300_000,
    heldBackPauseMs: 2_000,
  },
};

const options = parseBenchArgs();
if (options.help) {
  console.log("usage: node scripts/bench/core.mjs [--quick] [--cpu-prof <dir>]");
  process.exit(0);
}
assertBuilt();
const plan = options.quick ? PLANS.quick : PLANS.full;
const profDir = options.cpuProfDir;
if (profDir) mkdirSync(profDir, { recursive: true });
const report = createReport("core", {
  quick: options.quick,
  header: profDir ? `CPU profiling on (profiles in ${profDir}): figures are slower than normal` : undefined,
});
if (loadPerCpu() > 0.5) report.note("the machine is busy (load average above half the CPUs): figures are noisy");

const servers = [];
async function start(spawnFn, spawnOptions) {
  const server = await spawnFn(spawnOptions);
  servers.push(server);
  return server;
}

try {
  await measureStartup();
  const runtime = await start(spawnRuntime, { handler: "echo.mjs", nodeArgs: cpuProfFlags(profDir, "runtime-echo") });
  const baseline = await start(spawnBaseline, { nodeArgs: cpuProfFlags(profDir, "baseline") });
  await measureIdleRss(runtime, baseline);
  // Warm both servers' JIT before timing anything.
  for (const server of [runtime, baseline]) {
    await warmUp(server.url, { requests: plan.warmupRequests, maxMs: plan.warmupMs, text: echoRequestText() });
    await oneShots(server.url, { count: 20, text: echoRequestText() });
  }
  await measureOneShot(runtime, baseline);
  await measurePersistent(runtime, baseline);
  await measureStream(baseline);
  await measureBurst();
  await measureHeldBack();
  await measureConcurrency(runtime, baseline);
  await measureManyConnections(runtime);
  await sleep(2_000);
  report.section("memory after the load");
  report.row("runtime RSS, idle after the load", mib(rssBytes(runtime.pid)), "MiB");
  report.row("runtime peak RSS (VmHWM)", mib(peakRssBytes(runtime.pid)), "MiB");
} catch (error) {
  console.error(`\ncore bench failed to run: ${error instanceof Error ? (error.stack ?? error.message) : error}`);
  for (const server of servers) {
    const tail = server.stderrTail();
    if (tail) console.error(`--- stderr of pid ${server.pid}:\n${tail}`);
  }
  process.exitCode = 1;
} finally {
  await Promise.all(servers.map((server) => server.stop()));
}
if (profDir && process.exitCode !== 1) {
  report.section(`CPU profiles (${profDir})`);
  for (const file of profileFiles(profDir)) printProfile(file, 12);
}
report.finish();

async function measureStartup() {
  report.section(`startup: spawn() to the "listening on" line (${plan.startups} starts each)`);
  const runtimeMs = [];
  const runtimeCpuMs = [];
  const runtimeFirstMs = [];
  const baselineMs = [];
  const baselineCpuMs = [];
  const baselineFirstMs = [];
  for (let i = 0; i < plan.startups; i++) {
    for (const [spawnFn, wall, cpu, first, spawnOptions] of [
      [spawnRuntime, runtimeMs, runtimeCpuMs, runtimeFirstMs, { handler: "echo.mjs" }],
      [spawnBaseline, baselineMs, baselineCpuMs, baselineFirstMs, {}],
    ]) {
      const server = await spawnFn(spawnOptions);
      const listening = performance.now();
      wall.push(server.startupMs);
      cpu.push(server.startupCpuMs);
      // A client that connects as soon as the server listens: spawn() to its first result.
      // The runtime loads its session code once it listens; this shows what that costs the first request.
      const { failures } = await oneShots(server.url, { count: 1, text: echoRequestText("first") });
      if (failures > 0) throw new Error(`the first request to pid ${server.pid} failed`);
      first.push(server.startupMs + performance.now() - listening);
      await server.stop();
    }
  }
  const runtime = summarize(runtimeMs);
  report.target({
    label: "runtime time to listening (median)",
    value: runtime.p50,
    unit: "ms",
    op: "<=",
    limit: TARGETS.startupMs,
  });
  report.row("runtime time to listening (min / max)", `${runtime.min.toFixed(0)} / ${runtime.max.toFixed(0)} ms`);
  report.row("runtime CPU used until listening (median)", median(runtimeCpuMs), "ms");
  report.row("baseline time to listening (median)", median(baselineMs), "ms", "node + ws, no runtime code");
  report.row("baseline CPU used until listening (median)", median(baselineCpuMs), "ms");
  report.row(
    "runtime spawn() to the first result (median)",
    median(runtimeFirstMs),
    "ms",
    "one request sent on listening",
  );
  report.row("baseline spawn() to the first result (median)", median(baselineFirstMs), "ms");
}

async function measureIdleRss(runtime, baseline) {
  report.section("idle memory (1 s after listening, no connection)");
  await sleep(1_000);
  report.target({
    label: "runtime idle RSS",
    value: mib(rssBytes(runtime.pid)),
    unit: "MiB",
    op: "<=",
    limit: TARGETS.idleRssMiB,
  });
  report.row("baseline idle RSS", mib(rssBytes(baseline.pid)), "MiB");
}

async function measureOneShot(runtime, baseline) {
  const perRound = Math.ceil(plan.oneShots / plan.rounds);
  report.section(
    `one-shot requests: connect, invoke, result, close (${plan.rounds} rounds x ${perRound} sequential per server, interleaved)`,
  );
  const figures = { runtime: { all: [], p50: [] }, baseline: { all: [], p50: [] } };
  let failures = { runtime: 0, baseline: 0 };
  for (let round = 0; round < plan.rounds; round++) {
    const order = round % 2 === 0 ? ["runtime", "baseline"] : ["baseline", "runtime"];
    for (const name of order) {
      const server = name === "runtime" ? runtime : baseline;
      const result = await oneShots(server.url, { count: perRound, text: echoRequestText() });
      figures[name].all.push(...result.latencies);
      figures[name].p50.push(summarize(result.latencies).p50);
      failures = { ...failures, [name]: failures[name] + result.failures };
    }
  }
  for (const name of ["runtime", "baseline"]) {
    const stats = summarize(figures[name].all);
    report.row(`${name} latency p50 / p99`, `${stats.p50.toFixed(2)} / ${stats.p99.toFixed(2)} ms`);
    if (failures[name] > 0) report.row(`${name} failed one-shots`, failures[name]);
  }
  report.target({
    label: "runtime / baseline one-shot p50 (median of rounds)",
    value: pairedRatio(figures.runtime.p50, figures.baseline.p50),
    op: "<=",
    limit: TARGETS.oneShotP50Ratio,
  });
}

async function measurePersistent(runtime, baseline) {
  // The same runtime with request logging off shows what the per-request log lines cost.
  const quietLogs = await start(spawnRuntime, {
    handler: "echo.mjs",
    args: ["--log-level", "warn"],
    nodeArgs: cpuProfFlags(profDir, "runtime-echo-warn"),
  });
  await warmUp(quietLogs.url, { requests: plan.warmupRequests, maxMs: plan.warmupMs, text: echoRequestText() });
  const contenders = { runtime, baseline, quietLogs };
  report.section(
    `one persistent connection, requests back to back (${plan.rounds} rounds x ${plan.persistentMs / 1000} s per server, interleaved)`,
  );
  const figures = Object.fromEntries(Object.keys(contenders).map((name) => [name, { rps: [], cpu: [], p99: [] }]));
  for (let round = 0; round < plan.rounds; round++) {
    const names = Object.keys(contenders);
    // Rotate the order so no server always runs right after another one.
    const order = names.map((_, i) => names[(i + round) % names.length]);
    for (const name of order) {
      const server = contenders[name];
      let cpuBefore = 0;
      const result = await persistent(server.url, {
        durationMs: plan.persistentMs,
        warmupMs: 200,
        text: echoRequestText(),
        beforeMeasure: () => {
          cpuBefore = cpuMs(server.pid);
        },
      });
      const cpuUsed = cpuMs(server.pid) - cpuBefore;
      figures[name].rps.push((result.requests * 1000) / result.elapsedMs);
      figures[name].cpu.push((cpuUsed * 1000) / result.requests);
      figures[name].p99.push(summarize(result.latencies).p99);
    }
  }
  await quietLogs.stop();
  servers.splice(servers.indexOf(quietLogs), 1);

  const rps = (name) => median(figures[name].rps);
  report.row("runtime requests/s (median of rounds)", rps("runtime"), "req/s", spread(figures.runtime.rps));
  report.row("baseline requests/s (median of rounds)", rps("baseline"), "req/s", spread(figures.baseline.rps));
  report.target({
    label: "runtime / baseline requests/s (median of rounds)",
    value: pairedRatio(figures.runtime.rps, figures.baseline.rps),
    op: ">=",
    limit: TARGETS.persistentRatio,
  });
  report.row("runtime request latency p99", median(figures.runtime.p99), "ms");
  report.row("baseline request latency p99", median(figures.baseline.p99), "ms");
  report.row("runtime server CPU per 1000 requests", median(figures.runtime.cpu), "ms", spread(figures.runtime.cpu));
  report.row("baseline server CPU per 1000 requests", median(figures.baseline.cpu), "ms", spread(figures.baseline.cpu));
  report.target({
    label: "runtime / baseline CPU per request (median of rounds)",
    value: pairedRatio(figures.runtime.cpu, figures.baseline.cpu),
    op: "<=",
    limit: TARGETS.cpuRatio,
  });
  report.row("runtime --log-level warn: requests/s", rps("quietLogs"), "req/s", spread(figures.quietLogs.rps));
  report.row("runtime --log-level warn: / baseline", pairedRatio(figures.quietLogs.rps, figures.baseline.rps));
  report.row("runtime --log-level warn: CPU per 1000 requests", median(figures.quietLogs.cpu), "ms");
}

async function measureStream(baseline) {
  const runtime = await start(spawnRuntime, {
    handler: "stream.mjs",
    nodeArgs: cpuProfFlags(profDir, "runtime-stream"),
  });
  const count = plan.streamMessages;
  report.section(
    `one request streaming ${count.toLocaleString("en-US")} assistant messages (${plan.rounds} rounds, interleaved)`,
  );
  // One short stream each to warm the JIT.
  for (const server of [runtime, baseline]) await stream(server.url, { count: 5_000, text: streamRequestText(5_000) });
  const rates = { runtime: [], baseline: [] };
  const cpu = { runtime: [], baseline: [] };
  for (let round = 0; round < plan.rounds; round++) {
    const order = round % 2 === 0 ? ["runtime", "baseline"] : ["baseline", "runtime"];
    for (const name of order) {
      const server = name === "runtime" ? runtime : baseline;
      const cpuBefore = cpuMs(server.pid);
      const { messages, elapsedMs } = await stream(server.url, { count, text: streamRequestText(count) });
      cpu[name].push(((cpuMs(server.pid) - cpuBefore) * 1000) / messages);
      rates[name].push((messages * 1000) / elapsedMs);
    }
  }
  const runtimeRate = median(rates.runtime);
  const baselineRate = median(rates.baseline);
  report.row("runtime assistant messages/s (median)", runtimeRate, "msg/s", spread(rates.runtime));
  report.row("baseline assistant messages/s (median)", baselineRate, "msg/s", spread(rates.baseline));
  report.target({
    label: "runtime / baseline messages/s (median of rounds)",
    value: pairedRatio(rates.runtime, rates.baseline),
    op: ">=",
    limit: TARGETS.streamRatio,
  });
  report.row("runtime server CPU per 1000 messages", median(cpu.runtime), "ms");
  report.row("baseline server CPU per 1000 messages", median(cpu.baseline), "ms");
  await runtime.stop();
  servers.splice(servers.indexOf(runtime), 1);
}

async function measureConcurrency(runtime, baseline) {
  report.section(`200 concurrent connections x 10 sequential requests each (${plan.rounds} rounds, interleaved)`);
  const figures = {
    runtime: { rps: [], p50: [], p99: [], cpu: [] },
    baseline: { rps: [], p50: [], p99: [], cpu: [] },
  };
  let runtimeFailures = 0;
  let baselineFailures = 0;
  const reasons = new Map();
  // Unmeasured rounds of the same workload first, as many requests as the
  // persistent warm-up: the earlier phases ran one connection at a time, and
  // in probes a runtime that had served them used 11-13 % more CPU per
  // request in its first rounds of 200 at once than a fresh process (level
  // after 8 rounds).
  const warmRounds = Math.ceil(plan.warmupRequests / 2_000);
  for (let round = 0; round < warmRounds; round++) {
    for (const server of [runtime, baseline]) {
      await concurrent(server.url, { connections: 200, requestsPerConnection: 10, text: echoRequestText() });
    }
  }
  for (let round = 0; round < plan.rounds; round++) {
    const order = round % 2 === 0 ? ["runtime", "baseline"] : ["baseline", "runtime"];
    for (const name of order) {
      const server = name === "runtime" ? runtime : baseline;
      const cpuBefore = cpuMs(server.pid);
      const result = await concurrent(server.url, {
        connections: 200,
        requestsPerConnection: 10,
        text: echoRequestText(),
      });
      const cpuUsed = cpuMs(server.pid) - cpuBefore;
      const stats = summarize(result.latencies);
      figures[name].rps.push((result.requests * 1000) / result.elapsedMs);
      figures[name].p50.push(stats.p50);
      figures[name].p99.push(stats.p99);
      figures[name].cpu.push((cpuUsed * 1000) / Math.max(1, result.requests));
      if (name === "runtime") {
        runtimeFailures += result.failures;
        for (const [reason, count] of result.reasons) reasons.set(reason, (reasons.get(reason) ?? 0) + count);
      } else baselineFailures += result.failures;
    }
  }
  for (const name of ["runtime", "baseline"]) {
    report.row(`${name} requests/s (median of rounds)`, median(figures[name].rps), "req/s", spread(figures[name].rps));
    report.row(
      `${name} request latency p50 / p99 (medians)`,
      `${median(figures[name].p50).toFixed(1)} / ${median(figures[name].p99).toFixed(1)} ms`,
    );
    report.row(`${name} server CPU / 1000 requests (incl. connects)`, median(figures[name].cpu), "ms");
  }
  report.target({
    label: "runtime / baseline requests/s (median of rounds)",
    value: pairedRatio(figures.runtime.rps, figures.baseline.rps),
    op: ">=",
    limit: TARGETS.concurrentRatio,
  });
  report.target({
    label: "runtime / baseline latency p99 (median of rounds)",
    value: pairedRatio(figures.runtime.p99, figures.baseline.p99),
    op: "<=",
    limit: TARGETS.concurrentP99Ratio,
  });
  report.target({ label: "runtime failed requests", value: runtimeFailures, op: "<=", limit: 0 });
  for (const [reason, count] of reasons) report.note(`${count} x ${reason}`);
  if (baselineFailures > 0) report.row("baseline failed requests", baselineFailures);
}

/**
 * A handler that sends `burstMessages` short messages without awaiting them:
 * the runtime must hold them all (nothing can slow the handler down) and
 * deliver every one, in order. Its peak RSS (VmHWM of a server that ran
 * nothing else) against its idle RSS shows what holding them costs.
 */
async function measureBurst() {
  const runtime = await start(spawnRuntime, { handler: "burst.mjs", nodeArgs: cpuProfFlags(profDir, "runtime-burst") });
  const count = plan.burstMessages;
  report.section(
    `a handler sending ${count.toLocaleString("en-US")} short assistant messages without awaiting them (${plan.rounds} rounds)`,
  );
  await sleep(1_000);
  const idle = rssBytes(runtime.pid);
  const elapsed = [];
  let failure;
  for (let round = 0; round < plan.rounds && failure === undefined; round++) {
    try {
      const result = await ordered(runtime.url, {
        count,
        text: streamRequestText(count),
        blockOf: burstBlock,
      });
      elapsed.push(result.elapsedMs);
    } catch (error) {
      failure = error instanceof Error ? error.message : String(error);
    }
  }
  const peak = peakRssBytes(runtime.pid);
  report.row("runtime idle RSS before the bursts", mib(idle), "MiB");
  report.row("runtime peak RSS (VmHWM)", mib(peak), "MiB");
  rssAboveIdleTarget("peak RSS above idle", peak - idle, TARGETS.burstRssMiB);
  report.row("time from request to terminal (median)", median(elapsed), "ms");
  report.target({
    label: "bursts delivered whole and in order",
    value: failure === undefined ? elapsed.length : 0,
    op: ">=",
    limit: plan.rounds,
  });
  if (failure !== undefined) report.note(failure);
  await runtime.stop();
  servers.splice(servers.indexOf(runtime), 1);
}

/**
 * A handler that awaits each send (handlers/stream.mjs), while the client
 * stops reading for `heldBackPauseMs`: the handler must be held back by the
 * socket, so the runtime's memory stays flat whatever the message count
 * (`heldBackMessages` are far more than every buffer on the way holds).
 */
async function measureHeldBack() {
  const runtime = await start(spawnRuntime, { handler: "stream.mjs" });
  const count = plan.heldBackMessages;
  report.section(
    `an awaiting handler streaming ${count.toLocaleString("en-US")} messages to a client that stops reading for ${plan.heldBackPauseMs / 1000} s`,
  );
  await sleep(1_000);
  const idle = rssBytes(runtime.pid);
  const rss = sampleRss(runtime.pid, 20);
  let pausedPeak = Number.NaN;
  let failure;
  try {
    await ordered(runtime.url, {
      count,
      text: streamRequestText(count),
      blockOf: streamBlock,
      pauseMs: plan.heldBackPauseMs,
      whilePaused: () => {
        pausedPeak = rss.stop();
      },
    });
  } catch (error) {
    failure = error instanceof Error ? error.message : String(error);
  }
  rss.stop();
  report.row("runtime idle RSS before", mib(idle), "MiB");
  rssAboveIdleTarget("peak RSS above idle while the client does not read", pausedPeak - idle, TARGETS.heldBackRssMiB);
  report.target({
    label: "messages delivered whole and in order",
    value: failure === undefined ? 1 : 0,
    op: ">=",
    limit: 1,
  });
  if (failure !== undefined) report.note(failure);
  await runtime.stop();
  servers.splice(servers.indexOf(runtime), 1);
}

async function measureManyConnections(runtime) {
  report.section("1000 concurrent connections, all open at once, one request each");
  const rss = sampleRss(runtime.pid, 20);
  const result = await concurrent(runtime.url, {
    connections: 1000,
    requestsPerConnection: 1,
    text: echoRequestText(),
  });
  const peak = rss.stop();
  const stats = summarize(result.latencies);
  report.row("time to open all 1000 connections", result.connectMs, "ms");
  report.row("requests/s with 1000 connections open", (result.requests * 1000) / result.elapsedMs, "req/s");
  report.row("request latency p50 / p99", `${stats.p50.toFixed(1)} / ${stats.p99.toFixed(1)} ms`);
  report.row("runtime peak RSS during the phase", mib(peak), "MiB");
  report.target({ label: "failed requests or connections", value: result.failures, op: "<=", limit: 0 });
  for (const [reason, count] of result.reasons) report.note(`${count} x ${reason}`);
}

function rssAboveIdleTarget(label, bytes, limitMiB) {
  report.target({ label, value: mib(bytes), unit: "MiB", op: "<=", limit: limitMiB });
}

/**
 * The median of per-round ratios. Each round runs the servers back to back,
 * so a ratio compares figures taken under the same machine load; the median
 * then discards rounds disturbed by other work on the machine.
 */
function pairedRatio(numerators, denominators) {
  return median(numerators.map((value, i) => value / (denominators[i] ?? Number.NaN)));
}

/** "min..max" of the rounds, to show how noisy a median is. */
function spread(samples) {
  if (samples.length < 2) return undefined;
  const stats = summarize(samples);
  return `rounds ${Math.round(stats.min).toLocaleString("en-US")}..${Math.round(stats.max).toLocaleString("en-US")}`;
}
