#!/usr/bin/env node
// Approval round trip: the runtime CLI with a handler that asks for one
// approval after another (handlers/approvals.mjs); a `ws` client on loopback
// answers each approval_request_message as soon as it arrives. Each round
// trip is timed inside the runtime, from the request sent to the answer
// applied (requestApproval resolved). Reports p50/p99; target p99 <= 5 ms.
// Runs alone: `node scripts/bench/approvals.mjs [--quick] [--count N]`;
// expects the packages built (`npm ci`).
import { join } from "node:path";
import { parseArgs } from "node:util";
import { WebSocket } from "ws";
import { createReport } from "./lib/report.mjs";
import { assertBuilt, HANDLERS_DIR, RUNTIME_BIN, spawnListening } from "./lib/spawn.mjs";
import { summarize } from "./lib/stats.mjs";

const { values } = parseArgs({
  options: { quick: { type: "boolean", default: false }, count: { type: "string" } },
  strict: false,
});
const COUNT = Number(values.count ?? (values.quick ? 500 : 5_000));
/** The first round trips warm the JIT and the socket; they are not counted. */
const WARMUP = Math.min(200, Math.floor(COUNT / 5));
const TARGET_P99_MS = 5;

assertBuilt();
const report = createReport("approvals", {
  quick: values.quick,
  header: `${COUNT} approvals in one request, ${WARMUP} warm-up ones not counted`,
});
const server = await spawnListening({
  script: RUNTIME_BIN,
  args: ["--handler", join(HANDLERS_DIR, "approvals.mjs"), "--host", "127.0.0.1", "--port", "0", "--log-level", "warn"],
});
try {
  const terminal = await run(server.url);
  if (terminal.message_type !== "result_message") throw new Error(`the request failed: ${JSON.stringify(terminal)}`);
  const samples = terminal.metadata.round_trips_ms.slice(WARMUP);
  const stats = summarize(samples);
  report.section("approval round trip on loopback (request sent -> answer applied)");
  report.row("round trips counted", stats.count);
  report.row("p50", stats.p50, "ms");
  report.row("p90", stats.p90, "ms");
  report.target({ label: "p99", value: stats.p99, unit: "ms", op: "<=", limit: TARGET_P99_MS });
  report.row("max", stats.max, "ms");
  report.finish();
} finally {
  await server.stop();
}

/** One invocation with every tool call held; each approval is answered at once. */
function run(url) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url);
    ws.on("error", reject);
    ws.on("open", () =>
      ws.send(
        JSON.stringify({
          message_type: "invocation_message",
          system_prompt: "",
          user_prompt: String(COUNT),
          model: "bench",
          approval_policy: "always",
        }),
      ),
    );
    ws.on("message", (data) => {
      const message = JSON.parse(String(data));
      if (message.message_type === "approval_request_message") {
        ws.send(
          JSON.stringify({
            message_type: "approval_response_message",
            request_id: message.request_id,
            decision: "allow",
          }),
        );
      } else if (["result_message", "error_message"].includes(message.message_type)) {
        ws.close();
        resolve(message);
      }
    });
  });
}
