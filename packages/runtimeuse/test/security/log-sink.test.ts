import assert from "node:assert/strict";
import { PassThrough } from "node:stream";
import { test } from "node:test";
import { createStreamSink, redactingSink, silentSink } from "../../src/logger.js";

test("a redacting sink skips the redaction work for levels its target drops, and redacts the rest", () => {
  const stream = new PassThrough();
  let out = "";
  stream.on("data", (d) => {
    out += d;
  });
  let lookups = 0;
  const sink = redactingSink(createStreamSink({ level: "warn", format: "json", stream }), () => {
    lookups++;
    return ["hunter2"];
  });
  sink.write("info", "dropped hunter2", { field: "hunter2" });
  assert.equal(lookups, 0);
  assert.equal(sink.enabled?.("info"), false);
  assert.equal(sink.enabled?.("error"), true);
  sink.write("warn", "kept hunter2", { field: "x hunter2" });
  assert.equal(lookups, 1);
  const line = JSON.parse(out) as Record<string, unknown>;
  assert.equal(line.msg, "kept [REDACTED]");
  assert.equal(line.field, "x [REDACTED]");
  assert.equal(redactingSink(silentSink, () => ["s"]).enabled?.("error"), false);
});
