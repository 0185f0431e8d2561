#!/usr/bin/env node
// Security benchmark: the runtime CLI with token auth on, many concurrent
// connections each sending requests one after the other. Reports failures,
// latency percentiles, connect time and the server's peak RSS (VmHWM from
// /proc). Runs alone: `node scripts/bench/security.mjs [--quick]
// [--connections N] [--requests N]`; expects the packages built (`npm ci`).
//
// Each connection needs a file descriptor on both sides. The server child is
// started under `ulimit -n` raised to what the run needs (up to the hard
// limit); this process checks its own limit and says how to raise it.
//
// Exits 0 when it ran, whatever the figures (targets are printed PASS/FAIL and,
// when BENCH_RESULTS_FILE is set, appended to it as JSON lines); non-zero when
// it could not run.
import { spawn, spawnSync } from "node:child_process";
import { appendFileSync, readFileSync } from "node:fs";
import { cpus } from "node:os";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { WebSocket } from "ws";

const { values } = parseArgs({
  options: {
    quick: { type: "boolean", default: false },
    connections: { type: "string" },
    requests: { type: "string" },
    "no-baseline": { type: "boolean", default: false },
  },
  strict: false,
});
const CONNECTIONS = Number(values.connections ?? (values.quick ? 200 : 1000));
const REQUESTS = Number(values.requests ?? (values.quick ? 5 : 10));
const TOKEN = `bench-${Math.random().toString(36).slice(2)}${Math.random().toString(36).slice(2)}`;
const TIMEOUT_MS = 60_000;
const BIN = fileURLToPath(new URL("../../packages/runtimeuse/bin/runtimeuse.js", import.meta.url));
// With every connection busy at once, latency is queueing on the machine (client and server share it):
// the bare `ws` baseline below, same load, shows what the machine itself allows.
const TARGETS = { failures: 0, p99Ms: 3_000, peakRssMiB: 512 };

/** A bare `ws` echo server answering like the echo agent: no auth, validation, sessions or logs. */
const BASELINE_SERVER = `
import { WebSocketServer } from "ws";
const wss = new WebSocketServer({ port: 0, host: "127.0.0.1", backlog: 2048 });
wss.on("listening", () => console.log("listening on ws://127.0.0.1:" + wss.address().port));
wss.on("connection", (ws) => ws.on("message", (data) => {
  const m = JSON.parse(String(data));
  ws.send(JSON.stringify({ message_type: "assistant_message", text_blocks: [m.user_prompt] }));
  ws.send(JSON.stringify({ message_type: "result_message", metadata: {}, data: { type: "text", text: m.user_prompt } }));
}));`;

const results = [];
function row(label, value, unit = "") {
  console.log(`  ${label.padEnd(44)} ${`${value}${unit ? ` ${unit}` : ""}`.padStart(16)}`);
}
function target(label, value, unit, op, limit) {
  const pass = Number.isFinite(value) && (op === "<=" ? value <= limit : value >= limit);
  console.log(
    `  ${label.padEnd(44)} ${`${round(value)}${unit ? ` ${unit}` : ""}`.padStart(16)}   target ${op} ${limit}${unit ? ` ${unit}` : ""}  ${pass ? "PASS" : "FAIL"}`,
  );
  const result = { script: "security", label, value: Number.isFinite(value) ? value : null, unit, op, limit, pass };
  results.push(result);
  if (process.env.BENCH_RESULTS_FILE) appendFileSync(process.env.BENCH_RESULTS_FILE, `${JSON.stringify(result)}\n`);
}
const round = (n) => (Number.isFinite(n) ? Math.round(n * 10) / 10 : n);
function percentile(sorted, p) {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

function fdLimit() {
  const out = spawnSync("sh", ["-c", "echo $(ulimit -n) $(ulimit -Hn)"], { encoding: "utf8" }).stdout.trim();
  const [soft, hard] = out.split(" ").map((v) => (v === "unlimited" ? Number.POSITIVE_INFINITY : Number(v)));
  return { soft, hard };
}

/** Starts the CLI with auth on (or the baseline), under a raised fd limit; resolves on its listening line. */
function startServer(fds, baseline = false) {
  const args = baseline
    ? ["--input-type=module", "-e", BASELINE_SERVER]
    : [BIN, "--agent", "echo", "--host", "127.0.0.1", "--port", "0", "--log-level", "warn"];
  if (!baseline) args.push("--max-connections", String(CONNECTIONS + 16));
  const quoted = [process.execPath, ...args].map((a) => `'${a.replace(/'/g, "'\\''")}'`).join(" ");
  // exec keeps the pid, so /proc/<pid> is the runtime itself.
  const child = spawn("sh", ["-c", `ulimit -n ${fds} 2>/dev/null; exec ${quoted}`], {
    stdio: ["ignore", "pipe", "pipe"],
    cwd: fileURLToPath(new URL("../..", import.meta.url)),
    env: { ...process.env, RUNTIMEUSE_TOKEN: TOKEN },
  });
  let stderr = "";
  child.stderr.on("data", (d) => {
    stderr += d;
  });
  return new Promise((resolve, reject) => {
    let out = "";
    child.stdout.on("data", (d) => {
      out += d;
      const match = /listening on (ws:\/\/\S+)/.exec(out);
      if (match) resolve({ child, url: match[1], stderr: () => stderr });
    });
    child.once("exit", (code) => reject(new Error(`the runtime exited with ${code}: ${stderr}`)));
  });
}

function rssKiB(pid, field) {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  return Number(new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(status)?.[1] ?? Number.NaN);
}

function connect(url, index, auth) {
  // Half the clients use the header, half the URL form the Python client uses.
  const withHeader = index % 2 === 0;
  const target = auth && !withHeader ? `${url}/?token=${encodeURIComponent(TOKEN)}` : url;
  const headers = auth && withHeader ? { authorization: `Bearer ${TOKEN}` } : {};
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(target, { perMessageDeflate: false, headers });
    const timer = setTimeout(() => {
      ws.terminate();
      reject(new Error("connect timed out"));
    }, TIMEOUT_MS);
    ws.once("open", () => {
      clearTimeout(timer);
      resolve(ws);
    });
    ws.once("error", (error) => {
      clearTimeout(timer);
      reject(error);
    });
  });
}

/** Sends one invocation and resolves with its latency once the expected result arrives. */
function request(ws, prompt) {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const timer = setTimeout(() => done(new Error("request timed out")), TIMEOUT_MS);
    const onMessage = (data) => {
      const frame = JSON.parse(String(data));
      if (frame.message_type === "result_message") {
        done(frame.data?.text === prompt ? undefined : new Error(`wrong result ${JSON.stringify(frame)}`));
      } else if (frame.message_type === "error_message") done(new Error(frame.error));
    };
    const onClose = (code) => done(new Error(`closed with ${code}`));
    function done(error) {
      clearTimeout(timer);
      ws.off("message", onMessage);
      ws.off("close", onClose);
      if (error) reject(error);
      else resolve(performance.now() - started);
    }
    ws.on("message", onMessage);
    ws.once("close", onClose);
    ws.send(
      JSON.stringify({ message_type: "invocation_message", system_prompt: "s", user_prompt: prompt, model: "m" }),
    );
  });
}

const need = CONNECTIONS + 256;
const limits = fdLimit();
if (limits.soft < need) {
  console.error(
    `runtimeuse bench: this process may open ${limits.soft} files but the run needs about ${need}; ` +
      `raise it first, e.g. \`ulimit -n ${Math.min(limits.hard, Math.max(need, 4096))}\`, or pass --connections`,
  );
  process.exit(1);
}

/** Opens every connection at once, then runs the requests on all of them; collects the figures. */
async function runLoad(url, auth) {
  const failures = [];
  const connectTimes = [];
  const latencies = [];
  const wallStart = performance.now();
  const sockets = await Promise.all(
    Array.from({ length: CONNECTIONS }, async (_, i) => {
      const started = performance.now();
      try {
        const ws = await connect(url, i, auth);
        connectTimes.push(performance.now() - started);
        ws.on("error", () => {});
        return ws;
      } catch (error) {
        failures.push(`connect ${i}: ${error.message}`);
        return undefined;
      }
    }),
  );
  const connectedAt = performance.now();
  await Promise.all(
    sockets.map(async (ws, i) => {
      if (!ws) return;
      for (let r = 0; r < REQUESTS; r++) {
        try {
          latencies.push(await request(ws, `c${i} r${r}`));
        } catch (error) {
          failures.push(`connection ${i} request ${r}: ${error.message}`);
          return;
        }
      }
    }),
  );
  const requestsSeconds = (performance.now() - connectedAt) / 1000;
  const health = auth ? await (await fetch(`${url.replace("ws:", "http:")}/health`)).json() : undefined;
  for (const ws of sockets) ws?.close();
  latencies.sort((a, b) => a - b);
  connectTimes.sort((a, b) => a - b);
  return {
    failures,
    connectTimes,
    latencies,
    connectMs: connectedAt - wallStart,
    throughput: latencies.length / requestsSeconds,
    health,
  };
}

async function stop(server) {
  server.child.kill("SIGTERM");
  await new Promise((resolve) => server.child.once("exit", resolve));
}

const fds = Math.min(limits.hard, Math.max(need, 4096));
console.log(`\n=== bench: security${values.quick ? " (quick)" : ""} ===`);
console.log(`    ${cpus().length} cpus, node ${process.version}; ${CONNECTIONS} connections x ${REQUESTS} requests`);

const server = await startServer(fds);
const pid = server.child.pid;
const idleRss = rssKiB(pid, "VmRSS");
let sampledPeak = idleRss;
const sampler = setInterval(() => {
  try {
    sampledPeak = Math.max(sampledPeak, rssKiB(pid, "VmRSS"));
  } catch {}
}, 50);
const run = await runLoad(server.url, true);
clearInterval(sampler);
const peakRss = rssKiB(pid, "VmHWM");
await stop(server);

let baseline;
if (!values["no-baseline"]) {
  const bare = await startServer(fds, true);
  baseline = await runLoad(bare.url, false);
  await stop(bare);
}

console.log("\n--- runtimeuse CLI, token auth on (half Authorization header, half ?token=)");
row("connections opened", `${run.connectTimes.length} of ${CONNECTIONS}`);
row(
  "connect time p50 / p99",
  `${round(percentile(run.connectTimes, 50))} / ${round(percentile(run.connectTimes, 99))}`,
  "ms",
);
row("all connected after", round(run.connectMs), "ms");
row("open connections seen by /health", run.health?.connections);
row("requests answered", `${run.latencies.length} of ${CONNECTIONS * REQUESTS}`);
row("latency p50 / p90", `${round(percentile(run.latencies, 50))} / ${round(percentile(run.latencies, 90))}`, "ms");
row("latency max", round(run.latencies.at(-1)), "ms");
row("throughput", round(run.throughput), "req/s");
target("failures (connect + request)", run.failures.length, "", "<=", TARGETS.failures);
target("latency p99", percentile(run.latencies, 99), "ms", "<=", TARGETS.p99Ms);
row("server RSS when idle", round(idleRss / 1024), "MiB");
row("server RSS peak, sampled every 50 ms", round(sampledPeak / 1024), "MiB");
target("server peak RSS (VmHWM)", peakRss / 1024, "MiB", "<=", TARGETS.peakRssMiB);
for (const failure of run.failures.slice(0, 10)) console.log(`      ${failure}`);
if (baseline) {
  console.log("\n--- bare ws echo server, same load, no auth (what this machine allows)");
  row("failures", baseline.failures.length);
  row(
    "connect time p50 / p99",
    `${round(percentile(baseline.connectTimes, 50))} / ${round(percentile(baseline.connectTimes, 99))}`,
    "ms",
  );
  row(
    "latency p50 / p99",
    `${round(percentile(baseline.latencies, 50))} / ${round(percentile(baseline.latencies, 99))}`,
    "ms",
  );
  row("throughput", round(baseline.throughput), "req/s");
}
const missed = results.filter((r) => !r.pass).length;
console.log(
  `\n  security: ${results.length - missed} of ${results.length} targets met${missed ? `, ${missed} missed` : ""}`,
);
