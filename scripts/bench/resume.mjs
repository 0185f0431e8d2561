#!/usr/bin/env node
// Resumable connections: what a resume costs and what resumability costs.
// `node scripts/bench/resume.mjs [--quick]`. The runtime CLI with the bench
// handlers on loopback, driven by a lean client over `ws` that speaks the
// resume handshake (docs/PROTOCOL.md, "Resumable connections").
// Exits 0 when it ran (a missed target prints FAIL), 1 when it could not run.
import { setTimeout as sleep } from "node:timers/promises";
import { TERMINAL_MESSAGE_TYPES } from "@runtimeuse/protocol";
import { WebSocket } from "ws";
import { echoRequestText, streamRequestText } from "./lib/messages.mjs";
import { parseBenchArgs } from "./lib/options.mjs";
import { loadPerCpu, rssBytes, sampleRss } from "./lib/proc.mjs";
import { createReport, mib } from "./lib/report.mjs";
import { assertBuilt, spawnRuntime } from "./lib/spawn.mjs";
import { median, summarize } from "./lib/stats.mjs";

const TARGETS = { resumeP99Ms: 250, costRatio: 0.95, rssSlackMiB: 30 };
const PLANS = {
  full: {
    resumes: 20,
    buffered: 10_000,
    rounds: 6,
    persistentMs: 2_000,
    streamMessages: 50_000,
    parked: 10,
    parkedMessages: 20_000,
  },
  quick: {
    resumes: 10,
    buffered: 10_000,
    rounds: 2,
    persistentMs: 1_000,
    streamMessages: 20_000,
    parked: 10,
    parkedMessages: 10_000,
  },
};
const TERMINALS = new Set(TERMINAL_MESSAGE_TYPES);
/** As the clients do (docs/PROTOCOL.md, "Numbering"). */
const ACK_EVERY = 256;
const ACK_QUIET_MS = 100;

const options = parseBenchArgs();
assertBuilt();
const plan = options.quick ? PLANS.quick : PLANS.full;
const report = createReport("resume", { quick: options.quick });
if (loadPerCpu() > 0.5) report.note("the machine is busy (load average above half the CPUs): figures are noisy");

/**
 * One connection; `resumable` asks for a resumable one and acknowledges
 * received frames every ACK_EVERY messages or ACK_QUIET_MS after the first
 * unacknowledged one, as the clients do. Requests resolve on their terminal with the count of assistant messages.
 */
class Peer {
  /** `replaying`: the connection is a resume, whose replay may arrive with the handshake; `done` resolves on its terminal. */
  static open(url, { resumable = false, headers = {}, replaying = false } = {}) {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url, { perMessageDeflate: false, headers });
      const peer = new Peer(ws, resumable);
      if (replaying) peer.done = peer.expect();
      ws.once("open", () => resolve(peer));
      ws.once("error", reject);
      ws.once("unexpected-response", (_request, response) => reject(new Error(`HTTP ${response.statusCode}`)));
    });
  }

  constructor(ws, resumable) {
    this.ws = ws;
    this.resumable = resumable;
    this.session = undefined;
    this.lastSeq = 0;
    this.unacked = 0;
    this.ownSeq = 0;
    this.pending = undefined;
    this.firstFrame = new Promise((resolve) => {
      this.gotFirst = resolve;
    });
    ws.on("error", () => {});
    ws.on("message", (data) => this.onFrame(data.toString("utf8")));
    this.closed = new Promise((resolve) => ws.once("close", resolve));
  }

  onFrame(text) {
    const message = JSON.parse(text);
    this.gotFirst(message);
    if (message.message_type === "session_message") {
      this.session = message;
      return;
    }
    if (message.seq !== undefined) {
      this.lastSeq = message.seq;
      if (++this.unacked >= ACK_EVERY) this.ack();
      else this.ackTimer ??= setTimeout(() => this.ack(), ACK_QUIET_MS);
    }
    const pending = this.pending;
    if (pending === undefined) return;
    if (message.message_type === "assistant_message") pending.messages++;
    else if (TERMINALS.has(message.message_type)) {
      this.pending = undefined;
      pending.resolve(pending.messages);
    }
  }

  ack() {
    clearTimeout(this.ackTimer);
    this.ackTimer = undefined;
    this.unacked = 0;
    if (this.ws.readyState === this.ws.OPEN) this.ws.send(`{"message_type":"ack_message","seq":${this.lastSeq}}`);
  }

  /** Waits for the request's terminal (here, or on the connection it is handed to). */
  expect() {
    return new Promise((resolve) => {
      this.pending = { messages: 0, resolve };
    });
  }

  request(text) {
    const done = this.expect();
    this.ws.send(this.resumable ? `${text.slice(0, -1)},"seq":${++this.ownSeq}}` : text);
    return done;
  }

  close() {
    clearTimeout(this.ackTimer);
    this.ws.close(1000);
    return this.closed;
  }
}

const servers = [];
try {
  const runtime = await spawnRuntime({ handler: "stream.mjs", args: ["--log-level", "warn"] });
  servers.push(runtime);
  await measureResumeLatency(runtime);
  await measureCost();
  await measureParkedMemory();
} catch (error) {
  console.error(`\nresume bench failed to run: ${error instanceof Error ? (error.stack ?? error.message) : error}`);
  for (const server of servers) {
    const tail = server.stderrTail?.();
    if (tail) console.error(`--- stderr of pid ${server.pid}:\n${tail}`);
  }
  process.exitCode = 1;
} finally {
  await Promise.all(servers.map((server) => server.stop()));
}
report.finish();

async function resumeUrl(runtime, peer) {
  return {
    url: `${runtime.url}/?resume=${peer.session.session_id}&last_seq=${peer.lastSeq}`,
    headers: { "runtimeuse-resume-secret": peer.session.resume_secret },
  };
}

async function measureResumeLatency(runtime) {
  report.section(
    `resume: ${plan.buffered} messages buffered while away, then reconnect -> replay complete (${plan.resumes} runs)`,
  );
  const latencies = [];
  for (let run = 0; run < plan.resumes + 2; run++) {
    const peer = await Peer.open(`${runtime.url}/?resumable=1`, { resumable: true });
    await peer.firstFrame;
    // Cut at once: every message of the request is produced while the client is away.
    peer.ws.send(`${streamRequestText(plan.buffered).slice(0, -1)},"seq":1}`);
    peer.ws.terminate();
    await peer.closed;
    await sleep(400);
    const { url, headers } = await resumeUrl(runtime, peer);
    const started = performance.now();
    const next = await Peer.open(url, { resumable: true, headers, replaying: true });
    const messages = await next.done;
    const elapsed = performance.now() - started;
    if (messages !== plan.buffered) throw new Error(`replayed ${messages} messages, expected ${plan.buffered}`);
    await next.close();
    if (run >= 2) latencies.push(elapsed); // the first two warm the JIT
  }
  const stats = summarize(latencies);
  report.row("resume latency p50", stats.p50, "ms");
  report.target({ label: "resume latency p99", value: stats.p99, unit: "ms", op: "<=", limit: TARGETS.resumeP99Ms });
}

async function measureCost() {
  const echo = await spawnRuntime({ handler: "echo.mjs", args: ["--log-level", "warn"] });
  servers.push(echo);
  const stream = servers[0];
  report.section(
    `cost of resumability: one persistent connection, plain vs resumable (${plan.rounds} rounds, interleaved)`,
  );
  const rps = { plain: [], resumable: [] };
  const mps = { plain: [], resumable: [] };
  for (let round = 0; round < plan.rounds; round++) {
    const order = round % 2 === 0 ? ["plain", "resumable"] : ["resumable", "plain"];
    for (const kind of order) {
      const resumable = kind === "resumable";
      const query = resumable ? "/?resumable=1" : "/";
      const peer = await Peer.open(`${echo.url}${query}`, { resumable });
      const warmEnd = performance.now() + 200;
      while (performance.now() < warmEnd) await peer.request(echoRequestText());
      let requests = 0;
      const started = performance.now();
      const end = started + plan.persistentMs;
      while (performance.now() < end) {
        await peer.request(echoRequestText());
        requests++;
      }
      rps[kind].push((requests * 1000) / (performance.now() - started));
      await peer.close();

      const streamer = await Peer.open(`${stream.url}${query}`, { resumable });
      const t0 = performance.now();
      const count = await streamer.request(streamRequestText(plan.streamMessages));
      mps[kind].push((count * 1000) / (performance.now() - t0));
      await streamer.close();
    }
  }
  const ratio = (a, b) => median(a.map((value, i) => value / b[i]));
  report.row("plain requests/s (median of rounds)", median(rps.plain), "req/s");
  report.row("resumable requests/s (median of rounds)", median(rps.resumable), "req/s");
  report.target({
    label: "resumable / plain requests/s",
    value: ratio(rps.resumable, rps.plain),
    unit: "",
    op: ">=",
    limit: TARGETS.costRatio,
  });
  report.row("plain streamed messages/s", median(mps.plain), "msg/s");
  report.row("resumable streamed messages/s", median(mps.resumable), "msg/s");
  report.target({
    label: "resumable / plain streamed messages/s",
    value: ratio(mps.resumable, mps.plain),
    unit: "",
    op: ">=",
    limit: TARGETS.costRatio,
  });
}

async function measureParkedMemory() {
  const runtime = await spawnRuntime({ handler: "stream.mjs", args: ["--log-level", "warn"] });
  servers.push(runtime);
  report.section(
    `memory: ${plan.parked} resumable sessions disconnected while buffering ${plan.parkedMessages} messages each`,
  );
  await sleep(1_000);
  const idle = rssBytes(runtime.pid);
  const sampler = sampleRss(runtime.pid, 20);
  const peers = [];
  for (let i = 0; i < plan.parked; i++) {
    const peer = await Peer.open(`${runtime.url}/?resumable=1`, { resumable: true });
    await peer.firstFrame;
    peer.ws.send(`${streamRequestText(plan.parkedMessages).slice(0, -1)},"seq":1}`);
    peer.ws.terminate();
    await peer.closed;
    peers.push(peer);
  }
  await sleep(2_000);
  const peak = sampler.stop();
  // What the replay buffers hold: each frame as sent (message, envelope seq), counted by resuming one session.
  const { url, headers } = await resumeUrl(runtime, peers[0]);
  const probe = new WebSocket(url, { perMessageDeflate: false, headers });
  let bytesOfOne = 0;
  await new Promise((resolve, reject) => {
    probe.on("message", (data) => {
      bytesOfOne += data.length;
      const type = JSON.parse(data.toString("utf8")).message_type;
      if (TERMINALS.has(type)) resolve();
    });
    probe.once("error", reject);
  });
  probe.close(1000);
  const buffered = bytesOfOne * plan.parked;
  report.row("runtime idle RSS", mib(idle), "MiB");
  report.row("bytes buffered across the sessions", mib(buffered), "MiB");
  report.row("runtime peak RSS while they were away", mib(peak), "MiB");
  report.target({
    label: "peak RSS - idle - buffered",
    value: mib(peak - idle - buffered),
    unit: "MiB",
    op: "<=",
    limit: TARGETS.rssSlackMiB,
  });
}
