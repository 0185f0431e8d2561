import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";

const DEMO = fileURLToPath(new URL("../../../../scripts/demo.mjs", import.meta.url));

test("the README's demo runs a real request end to end, uploads the report and continues its conversation", async () => {
  const { stdout } = await promisify(execFile)(process.execPath, [DEMO], { timeout: 120_000 });
  assert.match(stdout, /<- output \[stdout\] echo preparing/);
  assert.match(stdout, /<- assistant: Reading the task: "Summarise the project \(deploy token: \[REDACTED\]\)"/);
  assert.match(stdout, /<- approval asked: shell \(write the report\): printf /);
  assert.match(stdout, /<- result \(structured_output\)/);
  assert.match(stdout, /<- manifest: .*report\.txt 18 bytes uploaded/);
  assert.match(stdout, /storage received \/bucket\/report\.txt \(text\/plain\): "README\.md\\nmain\.py\\n"/);
  assert.match(
    stdout,
    /<- the agent remembers: \["Summarise the project \(deploy token: \[REDACTED\]\)"\]/,
    "the second query continues the first one's conversation",
  );
  const received = stdout.split("\n").filter((line) => line.startsWith("<-"));
  assert.equal(received.join("\n").includes("demo-secret-123"), false, "nothing the runtime sent holds the secret");
  assert.match(stdout, /== demo finished/);
});
