import assert from "node:assert/strict";
import { PassThrough, Writable } from "node:stream";
import { test } from "node:test";
import { createStreamSink, LOG_BATCH_DELAY_MS, LOG_BATCH_LIMIT_CHARS, timestamper } from "../../src/logger.js";

function capture(): { stream: PassThrough; lines: () => string[] } {
  const stream = new PassThrough();
  let out = "";
  stream.on("data", (d) => {
    out += d;
  });
  return { stream, lines: () => out.split("\n").filter((l) => l !== "") };
}

test("text lines: ISO time, padded level, fields in order, undefined fields left out", () => {
  const { stream, lines } = capture();
  const sink = createStreamSink({ stream });
  sink.write("info", "request start", { connection: "c1", request: 7, ok: true, none: null, gone: undefined });
  sink.write("warn", "second");
  const [first, second] = lines();
  const match = /^(\S+) INFO {2}request start connection=c1 request=7 ok=true none=null$/.exec(first ?? "");
  assert.ok(match, `unexpected line: ${first}`);
  assert.equal(new Date(match[1] as string).toISOString(), match[1]);
  assert.match(second ?? "", /^\S+Z WARN {2}second$/);
});

test("timestamps are toISOString's, across milliseconds, seconds, days, years and before 1970", () => {
  const times = [
    0, 1, 999, 1000, 1001, -1, -999, -1000, -1001, 1_764_623_087_000, 1_764_623_087_001, 1_764_623_087_999,
    1_764_623_088_000, 1_767_225_599_999, 1_767_225_600_000, 253_402_300_799_999, 253_402_300_800_000,
  ];
  // Forwards, backwards (a clock set back) and the same instant twice.
  const sequence = [...times, ...[...times].reverse(), 5, 5, 4];
  for (let t = 1_764_623_086_990; t < 1_764_623_088_020; t += 7) sequence.push(t);
  let now = 0;
  const timestamp = timestamper(() => now);
  for (const t of sequence) {
    now = t;
    assert.equal(timestamp(), new Date(t).toISOString(), `at ${t}`);
  }
});

test("text lines quote values with whitespace (Unicode spaces too), quotes or `=`, and only those", () => {
  const { stream, lines } = capture();
  createStreamSink({ stream }).write("error", "m", {
    plain: "abc-123/é",
    space: "a b",
    tab: "a\tb",
    nbsp: "a\u00a0b",
    quote: 'say "hi"',
    eq: "k=v",
    empty: "",
  });
  assert.equal(
    lines()[0]?.replace(/^\S+ /, ""),
    'ERROR m plain=abc-123/é space="a b" tab="a\\tb" nbsp="a\u00a0b" quote="say \\"hi\\"" eq="k=v" empty=',
  );
});

test("lines written across time carry non-decreasing timestamps", async () => {
  const { stream, lines } = capture();
  const sink = createStreamSink({ stream, format: "json" });
  sink.write("info", "a");
  sink.write("info", "b");
  await new Promise((resolve) => setTimeout(resolve, 20));
  sink.write("info", "c");
  const times = lines().map((l) => Date.parse((JSON.parse(l) as { time: string }).time));
  assert.equal(times.length, 3);
  assert.ok(times.every((t) => Number.isFinite(t)));
  assert.ok((times[0] as number) <= (times[1] as number) && (times[1] as number) < (times[2] as number));
});

test("levels below the threshold are dropped", () => {
  const { stream, lines } = capture();
  const sink = createStreamSink({ stream, level: "warn" });
  sink.write("info", "dropped");
  sink.write("debug", "dropped");
  sink.write("error", "kept");
  assert.deepEqual(
    lines().map((l) => l.replace(/^\S+ /, "")),
    ["ERROR kept"],
  );
});

/** A stream that records each write it gets; `fail` makes every write fail with EPIPE. */
function writes(fail = false): { stream: Writable; chunks: string[] } {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk, _encoding, callback) {
      chunks.push(String(chunk));
      callback(fail ? Object.assign(new Error("write EPIPE"), { code: "EPIPE" }) : null);
    },
  });
  return { stream, chunks };
}

/** Past the batching delay: a timer set after the sink's fires after it. */
const batchWritten = () => new Promise((resolve) => setTimeout(resolve, LOG_BATCH_DELAY_MS + 1));

test("a batching sink writes the info lines it gathers in one write, the same lines as unbatched", async () => {
  const batched = writes();
  const plain = capture();
  const sinks = [createStreamSink({ stream: batched.stream, batch: true }), createStreamSink({ stream: plain.stream })];
  for (const sink of sinks) {
    sink.write("info", "request start", { request: "1" });
    sink.write("debug", "not written");
    sink.write("info", "request end", { request: "1", outcome: "ok" });
  }
  await new Promise((resolve) => setImmediate(resolve));
  assert.equal(batched.chunks.length, 0, "nothing is written at once");
  await batchWritten();
  assert.equal(batched.chunks.length, 1);
  const lines = (batched.chunks[0] ?? "").split("\n").filter((line) => line !== "");
  assert.deepEqual(
    lines.map((line) => line.replace(/^\S+ /, "")),
    plain.lines().map((line) => line.replace(/^\S+ /, "")),
  );
  assert.equal(lines.length, 2);
});

test("a batching sink writes the same bytes as an unbatched one: multi-byte text, lines past the limit, many writes", async () => {
  const chunks: Buffer[] = [];
  const batched = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      chunks.push(Buffer.from(chunk));
      callback();
    },
  });
  let plain = "";
  const unbatched = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      plain += String(chunk);
      callback();
    },
  });
  const sinks = [
    createStreamSink({ stream: batched, batch: true, format: "json" }),
    createStreamSink({ stream: unbatched, format: "json" }),
  ];
  const long = "ü€😀".repeat(LOG_BATCH_LIMIT_CHARS / 2);
  for (const sink of sinks) {
    for (let i = 0; i < 3000; i++) sink.write("info", `line ${i} ${"€".repeat(i % 97)}😀`, { i });
    sink.write("info", long, { at: "past the limit" });
    sink.write("info", "after the long one");
  }
  await batchWritten();
  assert.ok(chunks.length > 2, `written in several batches (${chunks.length})`);
  const text = Buffer.concat(chunks).toString("utf8");
  const strip = (lines: string) =>
    lines
      .split("\n")
      .filter((line) => line !== "")
      .map((line) => ({ ...JSON.parse(line), time: undefined }));
  assert.deepEqual(strip(text), strip(plain));
  assert.equal(strip(text).length, 3002);
});

test("a batching sink writes a warn line at once, after the lines gathered before it", () => {
  const { stream, chunks } = writes();
  const sink = createStreamSink({ stream, batch: true, format: "json" });
  sink.write("info", "first");
  sink.write("warn", "second");
  assert.equal(chunks.length, 1);
  const messages = (chunks[0] ?? "")
    .split("\n")
    .filter((line) => line !== "")
    .map((line) => (JSON.parse(line) as { msg: string }).msg);
  assert.deepEqual(messages, ["first", "second"]);
});

test("a batching sink whose stream fails counts every line it loses and writes nothing more", async () => {
  const { stream, chunks } = writes(true);
  const sink = createStreamSink({ stream, batch: true });
  sink.write("info", "a");
  sink.write("info", "b");
  await batchWritten();
  await new Promise((resolve) => setImmediate(resolve));
  assert.equal(chunks.length, 1);
  sink.write("info", "c");
  sink.write("error", "d");
  await batchWritten();
  assert.equal(chunks.length, 1, "nothing more is written to a failed stream");
  assert.equal(sink.dropped?.(), 4);
});

test("flushing a batching sink writes what it gathered at once, and nothing twice", async () => {
  const { stream, chunks } = writes();
  const sink = createStreamSink({ stream, batch: true });
  sink.write("info", "gathered");
  sink.flush?.();
  assert.equal(chunks.length, 1);
  assert.match(chunks[0] ?? "", /INFO {2}gathered\n$/);
  await batchWritten();
  assert.equal(chunks.length, 1);
});

test("a text line's message stays one line: line breaks and control characters are escaped, tabs kept; JSON keeps it as it is", () => {
  const message = "model said:\nfine\r\n2026-01-01T00:00:00.000Z ERROR forged\u001b[31m red\u2028end\ttab";
  const text = capture();
  createStreamSink({ stream: text.stream }).write("info", message, { note: "a\nb" });
  const lines = text.lines();
  assert.equal(lines.length, 1, lines.join("\n"));
  assert.equal(
    lines[0]?.replace(/^\S+ /, ""),
    'INFO  model said:\\nfine\\r\\n2026-01-01T00:00:00.000Z ERROR forged\\u001b[31m red\\u2028end\ttab note="a\\nb"',
  );
  const json = capture();
  createStreamSink({ stream: json.stream, format: "json" }).write("info", message);
  assert.equal(json.lines().length, 1);
  assert.equal((JSON.parse(json.lines()[0] as string) as { msg: string }).msg, message);
});
