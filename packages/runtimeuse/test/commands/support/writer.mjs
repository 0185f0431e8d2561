// Writes a planned sequence of byte chunks to stdout/stderr, one write(2)
// each, pausing between them so that the reader most likely sees them as
// separate reads. Usage: node writer.mjs PLAN.json
// PLAN: { "pauseMs": number, "writes": [{ "fd": 1 | 2, "hex": "e282" }, ...] }
import { readFileSync, writeSync } from "node:fs";

const plan = JSON.parse(readFileSync(process.argv[2], "utf8"));
const sleeper = new Int32Array(new SharedArrayBuffer(4));
for (const write of plan.writes) {
  writeSync(write.fd, Buffer.from(write.hex, "hex"));
  if (plan.pauseMs > 0) Atomics.wait(sleeper, 0, 0, plan.pauseMs);
}
