import assert from "node:assert/strict";
import { test } from "node:test";
import { budgetedSink } from "../../src/log-budget.js";
import type { LogFields, LogLevel } from "../../src/logger.js";

test("a budgeted sink passes a window's first lines, counts the rest by code, and summarizes them when the window ends", async () => {
  let clock = 0;
  const written: Array<[LogLevel, string, LogFields | undefined]> = [];
  const sink = budgetedSink(
    { write: (level, message, fields) => written.push([level, message, fields]) },
    { lines: 2, windowMs: 50, now: () => clock },
  );
  sink.write("warn", "frame refused", { code: "invalid_json" });
  sink.write("warn", "frame refused", { code: "binary_frame" });
  for (let i = 0; i < 5; i++) sink.write("warn", "frame refused", { code: "invalid_json" });
  sink.write("info", "upgrade refused", { reason: "stopping" });
  assert.equal(written.length, 2);
  // The window's timer writes the summary even when nothing else comes.
  await new Promise((resolve) => setTimeout(resolve, 80));
  assert.deepEqual(written[2], [
    "warn",
    "6 more such lines suppressed (at most 2 per 0.05 s)",
    { suppressed: 6, by_code: "invalid_json=5,stopping=1" },
  ]);
  clock = 100;
  sink.write("warn", "frame refused", { code: "invalid_field" });
  assert.equal(written.length, 4, "a new window lets lines through again");
  assert.equal(written[3]?.[2]?.code, "invalid_field");
});
