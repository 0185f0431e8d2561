#!/usr/bin/env node
// Command benchmark: runs the built runtime (packages/runtimeuse/dist, made by
// `npm install` / `npm run build`) as a real server process and drives it with a
// raw ws client.
//
// 1. Throughput: a command writes BENCH_BYTES (default 1 GiB) of output. The
//    same command is piped by a bare ws server (spawn + ws.send per chunk, the
//    same 1 MiB backpressure mark), in the same run, alternating, once as
//    binary frames and once as JSON command_output_message text frames (what
//    the protocol requires: serialising them is most of the runtime's CPU).
//    Checks bytes delivered == bytes produced; reports MB/s (10^6 bytes), the
//    server's CPU seconds per GiB, the ratios, and the runtime server's peak
//    RSS (VmHWM).
//    Then the runtime alone with a request listing BENCH_SECRETS (default 200)
//    secrets to redact, none of them in the output (random base64 text,
//    BENCH_SECRET_BYTES, default 256 MiB): what redacting with a long list of
//    secrets costs.
// 2. Cancel: `sleep 300 & sleep 301 | cat`, cancel_message, and the time until
//    every one of its processes is gone (zombies count as gone), over
//    BENCH_CANCEL_RUNS (default 20) runs: p50, p99, max.
//
// Run alone: `node scripts/bench/commands.mjs`. Exit code 1 when bytes were
// lost or a process survived; performance targets are reported, not enforced.
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("../../", import.meta.url));
const require = createRequire(`${root}packages/runtimeuse/package.json`);
const { WebSocket } = require("ws");

const BYTES = Number(process.env.BENCH_BYTES ?? 1024 ** 3);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 2);
const CANCEL_RUNS = Number(process.env.BENCH_CANCEL_RUNS ?? 20);
const LINE = "x".repeat(63); // 64 bytes per line with its newline
const COMMAND = `yes '${LINE}' | head -c ${BYTES}`;
const SECRETS = Number(process.env.BENCH_SECRETS ?? 200);
/** Random base64 text, 76 characters and a newline a line (57 random bytes each): output that shares its characters with the secrets. */
const TEXT_LINES = Math.floor(Number(process.env.BENCH_SECRET_BYTES ?? Math.min(BYTES, 256 * 1024 ** 2)) / 77);
const SECRET_BYTES = TEXT_LINES * 77;
const TEXT_COMMAND = `head -c ${TEXT_LINES * 57} /dev/urandom | base64 -w 76`;
const TARGETS = { ratio: 0.7, rssMb: 150, cancelP99Ms: 250 };

/**
 * The bare baselines: a minimal ws server that pipes one command's stdout,
 * either as binary frames ("raw:" prefix) or as the protocol's JSON
 * command_output_message text frames ("json:" prefix), with no validation,
 * redaction, capture or process-group handling.
 */
const BARE_SERVER = `
const { spawn } = require("node:child_process");
const { WebSocketServer } = require("ws");
const wss = new WebSocketServer({ host: "127.0.0.1", port: 0 }, () => {
  console.log("bare listening on ws://127.0.0.1:" + wss.address().port);
});
wss.on("connection", (ws) => ws.once("message", (message) => {
  const json = String(message).startsWith("json:");
  const command = String(message).slice(String(message).indexOf(":") + 1);
  const child = spawn("/bin/sh", ["-c", command], { stdio: ["ignore", "pipe", "inherit"] });
  if (json) child.stdout.setEncoding("utf8");
  child.stdout.on("data", (chunk) => {
    const frame = json
      ? JSON.stringify({ message_type: "command_output_message", stream: "stdout", text: chunk, command })
      : chunk;
    if (ws.bufferedAmount > 1024 * 1024) {
      child.stdout.pause();
      ws.send(frame, () => child.stdout.resume());
    } else ws.send(frame);
  });
  child.stdout.on("end", () => ws.send(JSON.stringify({ message_type: "done" })));
}));
`;

/** Starts a server process and resolves with its pid and ws URL once it prints its listening line. */
function startServer(args) {
  const child = spawn(process.execPath, args, { cwd: root, stdio: ["ignore", "pipe", "pipe"] });
  child.stderr.resume();
  return new Promise((resolve, reject) => {
    let out = "";
    child.once("exit", (code) => reject(new Error(`server exited early with ${code}`)));
    child.stdout.on("data", (chunk) => {
      out += chunk;
      const match = /listening on (ws:\/\/\S+)/.exec(out);
      if (match) resolve({ child, url: match[1] });
    });
  });
}

function connect(url) {
  const ws = new WebSocket(url);
  return new Promise((resolve, reject) => ws.once("open", () => resolve(ws)).once("error", reject));
}

/** CPU seconds (user + system) a process has used so far. */
function cpuSeconds(pid) {
  const fields = statFields(pid) ?? [];
  // After the command name: utime and stime are fields 12 and 13 (clock ticks, 100 per second).
  return (Number(fields[11] ?? 0) + Number(fields[12] ?? 0)) / 100;
}

function peakRssMb(pid) {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  return Number(/VmHWM:\s+(\d+) kB/.exec(status)?.[1] ?? 0) / 1024;
}

async function bareRound(url, pid, json) {
  const cpuBefore = cpuSeconds(pid);
  const ws = await connect(url);
  const started = performance.now();
  let bytes = 0;
  await new Promise((resolve) => {
    ws.on("message", (data, isBinary) => {
      if (isBinary) {
        bytes += data.length;
        return;
      }
      // The JSON baseline's client does the same work as the runtime's client.
      const frame = JSON.parse(String(data));
      if (frame.message_type === "command_output_message") bytes += Buffer.byteLength(frame.text);
      else resolve();
    });
    ws.send(`${json ? "json" : "raw"}:${COMMAND}`);
  });
  const seconds = (performance.now() - started) / 1000;
  ws.close();
  return { bytes, seconds, cpu: cpuSeconds(pid) - cpuBefore };
}

/** One command through the runtime; `secrets` go in the request's `secrets_to_redact`. */
async function runtimeRound(url, pid, { command = COMMAND, secrets = [] } = {}) {
  const cpuBefore = cpuSeconds(pid);
  const ws = await connect(url);
  const started = performance.now();
  let bytes = 0;
  const terminal = await new Promise((resolve) => {
    ws.on("message", (data) => {
      const frame = JSON.parse(String(data));
      if (frame.message_type === "command_output_message") bytes += Buffer.byteLength(frame.text);
      else if (frame.message_type !== "heartbeat_message") resolve(frame);
    });
    ws.send(
      JSON.stringify({
        message_type: "command_execution_message",
        commands: [{ command }],
        secrets_to_redact: secrets,
      }),
    );
  });
  const seconds = (performance.now() - started) / 1000;
  ws.close();
  const exitCode = terminal.results?.[0]?.exit_code;
  if (exitCode !== 0) throw new Error(`command ended with ${JSON.stringify(terminal).slice(0, 300)}`);
  return { bytes, seconds, cpu: cpuSeconds(pid) - cpuBefore };
}

/** Pids running in a process group, zombies excluded (they are dead, just not reaped). */
function runningInGroup(pgid) {
  const pids = [];
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    const fields = statFields(name);
    if (fields && fields[2] === String(pgid) && fields[0] !== "Z") pids.push(Number(name));
  }
  return pids;
}

function statFields(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "latin1");
    return stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  } catch {
    return undefined;
  }
}

function isRunning(pid) {
  const fields = statFields(pid);
  return fields !== undefined && fields[0] !== "Z" && fields[0] !== "X";
}

async function until(check, what, timeoutMs = 30_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}

async function cancelRun(url) {
  const ws = await connect(url);
  const frames = [];
  ws.on("message", (data) => frames.push(JSON.parse(String(data))));
  ws.send(
    JSON.stringify({
      message_type: "command_execution_message",
      commands: [{ command: "echo $$; sleep 300 & sleep 301 | cat" }],
    }),
  );
  const first = await until(() => frames.find((f) => f.message_type === "command_output_message"), "the pid");
  const pgid = Number(String(first.text).trim());
  const pids = await until(() => {
    const running = runningInGroup(pgid);
    return running.length >= 4 ? running : undefined;
  }, "four processes");
  const started = performance.now();
  ws.send(JSON.stringify({ message_type: "cancel_message" }));
  let terminalMs;
  let goneMs;
  await until(
    () => {
      if (terminalMs === undefined && frames.some((f) => f.message_type === "error_message")) {
        terminalMs = performance.now() - started;
      }
      if (goneMs === undefined && pids.every((pid) => !isRunning(pid))) goneMs = performance.now() - started;
      return terminalMs !== undefined && goneMs !== undefined;
    },
    "all processes gone and the terminal",
    10_000,
  );
  ws.close();
  return { goneMs, terminalMs };
}

function percentile(values, p) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

const mb = (bytes, seconds) => bytes / seconds / 1e6;
const verdict = (ok) => (ok ? "met" : "MISSED");

export async function run() {
  const runtime = await startServer(["packages/runtimeuse/bin/runtimeuse.js", "--port", "0", "--agent", "echo"]);
  const bare = await startServer(["-e", BARE_SERVER]);
  let failed = false;
  try {
    console.log(
      `commands benchmark: ${(BYTES / 1024 ** 2).toFixed(0)} MiB of output per run, best of ${ROUNDS} round(s), ` +
        `load average ${(await import("node:os")).loadavg()[0].toFixed(1)}`,
    );
    const results = { raw: [], json: [], runtime: [] };
    for (let round = 0; round < ROUNDS; round++) {
      results.raw.push(await bareRound(bare.url, bare.child.pid, false));
      results.json.push(await bareRound(bare.url, bare.child.pid, true));
      results.runtime.push(await runtimeRound(runtime.url, runtime.child.pid));
    }
    for (const [name, list] of Object.entries(results)) {
      for (const r of list) {
        if (r.bytes !== BYTES) {
          failed = true;
          console.log(`  ${name}: delivered ${r.bytes} bytes of ${BYTES} produced`);
        }
      }
    }
    const rate = (x) => mb(x.bytes, x.seconds);
    const best = (list) => list.reduce((a, b) => (rate(b) > rate(a) ? b : a));
    const raw = best(results.raw);
    const json = best(results.json);
    const r = best(results.runtime);
    const rss = peakRssMb(runtime.child.pid);
    const cpu = (x) => `server CPU ${(x.cpu / (x.bytes / 1024 ** 3)).toFixed(2)} s/GiB`;
    console.log(`  bare ws pipe, binary frames    : ${rate(raw).toFixed(1)} MB/s, ${cpu(raw)}`);
    console.log(`  bare ws pipe, JSON text frames : ${rate(json).toFixed(1)} MB/s, ${cpu(json)}`);
    console.log(`  runtimeuse server              : ${rate(r).toFixed(1)} MB/s, ${cpu(r)}`);
    console.log(`  delivered == produced in every run: ${failed ? "NO" : "yes"}`);
    const ratio = rate(r) / rate(raw);
    console.log(
      `  ratio to the binary pipe       : ${ratio.toFixed(2)} (target >= ${TARGETS.ratio}: ${verdict(ratio >= TARGETS.ratio)})`,
    );
    console.log(`  ratio to the JSON pipe         : ${(rate(r) / rate(json)).toFixed(2)}`);
    console.log(
      `  server peak RSS                : ${rss.toFixed(1)} MB (target <= ${TARGETS.rssMb}: ${verdict(rss <= TARGETS.rssMb)})`,
    );

    // 24 random bytes each, in base64 like the output: none of them occurs in it.
    const secrets = Array.from({ length: SECRETS }, () => randomBytes(24).toString("base64"));
    const redacting = [];
    for (let round = 0; round < ROUNDS; round++) {
      redacting.push(await runtimeRound(runtime.url, runtime.child.pid, { command: TEXT_COMMAND, secrets }));
    }
    const redacted = best(redacting);
    if (redacting.some((x) => x.bytes !== SECRET_BYTES)) {
      failed = true;
      console.log(
        `  with secrets: delivered ${redacting.map((x) => x.bytes).join(", ")} bytes of ${SECRET_BYTES} produced`,
      );
    }
    console.log(
      `  runtimeuse, ${SECRETS} secrets      : ${rate(redacted).toFixed(1)} MB/s, ${cpu(redacted)} ` +
        `(${(SECRET_BYTES / 1024 ** 2).toFixed(0)} MiB of base64 text, none of the secrets in it)`,
    );

    const cancels = [];
    for (let i = 0; i < CANCEL_RUNS; i++) cancels.push(await cancelRun(runtime.url));
    const gone = cancels.map((c) => c.goneMs);
    const terminal = cancels.map((c) => c.terminalMs);
    const p99 = percentile(gone, 99);
    console.log(
      `  cancel -> all processes gone (${CANCEL_RUNS} runs): p50 ${percentile(gone, 50).toFixed(1)} ms, ` +
        `p99 ${p99.toFixed(1)} ms, max ${Math.max(...gone).toFixed(1)} ms ` +
        `(target p99 <= ${TARGETS.cancelP99Ms}: ${verdict(p99 <= TARGETS.cancelP99Ms)})`,
    );
    console.log(
      `  cancel -> terminal error_message: p50 ${percentile(terminal, 50).toFixed(1)} ms, ` +
        `p99 ${percentile(terminal, 99).toFixed(1)} ms`,
    );
  } finally {
    runtime.child.kill("SIGTERM");
    bare.child.kill("SIGTERM");
  }
  return failed ? 1 : 0;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  run().then(
    (code) => {
      process.exitCode = code;
    },
    (error) => {
      console.error(error);
      process.exitCode = 1;
    },
  );
}
