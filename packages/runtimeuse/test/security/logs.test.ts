import assert from "node:assert/strict";
import { PassThrough } from "node:stream";
import { describe, test } from "node:test";
import { main } from "../../src/cli/main.js";
import { commands, invocation, RawClient } from "../support/client.js";
import { expectRefused, FIXTURES, startCli } from "./support.js";

const TOKEN = "tok-Zq81+/vX93kLmn0p";
const SECRET = "sk-live-5ecr3t-VALUE";
const WRONG = "guess-0f-the-attacker";

/**
 * Drives one CLI run through everything that logs: a refused upgrade, a
 * connection with the token in the URL, an invocation whose handler logs and
 * leaks on purpose, a command printing the secret, a bad frame, and SIGTERM.
 * Returns the captured stderr and what the child processes saw.
 */
async function leakyRun(args: string[], env: NodeJS.ProcessEnv) {
  const cli = await startCli(
    ["--handler", `${FIXTURES}leaky.mjs`, "--log-level", "debug", "--log-format", "json", ...args],
    env,
  );
  assert.equal((await expectRefused(`${cli.url}/?token=${WRONG}`)).status, 401);
  const client = await RawClient.connect(`${cli.url}/?token=${encodeURIComponent(TOKEN)}`);
  client.send(invocation({ secrets_to_redact: [SECRET], source_id: `job-${SECRET}` }));
  const { frames } = await client.untilTerminal();
  const assistant = frames.find((f) => f.message_type === "assistant_message");
  const childView = String((assistant?.text_blocks as string[] | undefined)?.[0]);
  client.send(commands([`echo "${SECRET}" >&2; exit 3`], { secrets_to_redact: [SECRET] }));
  await client.untilTerminal();
  client.send(`{"message_type": "invocation_message", "model": "${SECRET}"`);
  await client.next();
  cli.child.kill("SIGTERM");
  assert.deepEqual(await cli.exited, { code: 0, signal: null });
  return { logs: cli.stderr(), childView };
}

function assertClean(logs: string, childView: string) {
  for (const needle of [TOKEN, encodeURIComponent(TOKEN), SECRET, WRONG]) {
    assert.ok(!logs.includes(needle), `the log contains ${needle}:\n${logs}`);
  }
  assert.ok(!childView.includes(TOKEN), `a child process saw the token:\n${childView}`);
  assert.ok(!childView.includes("RUNTIMEUSE_TOKEN"), childView);
  assert.match(childView, /^PATH=/m, "the child's environment was captured");
  assert.match(childView, /^cmdline: /m, "the runtime's command line was captured");
}

function parseLines(logs: string): Array<Record<string, unknown>> {
  return logs
    .trim()
    .split("\n")
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

describe("logs of a real CLI run", () => {
  test("a token from --token never appears in the log, in children's env or in the process list", async () => {
    const { logs, childView } = await leakyRun(["--token", TOKEN], {});
    assertClean(logs, childView);
    assert.match(childView, /^cmdline: .*--token \*\*\*/m, "the process list shows the token masked");
  });

  test("a token from RUNTIMEUSE_TOKEN never appears in the log or children's env; the handler cannot read it", async () => {
    const { logs, childView } = await leakyRun([], { RUNTIMEUSE_TOKEN: TOKEN });
    assertClean(logs, childView);
    assert.match(logs, /RUNTIMEUSE_TOKEN is unset/);
  });

  test("json logs: every line parses, ids are strings, one open and one close line per connection, one start and end per request", async () => {
    const { logs } = await leakyRun(["--token", TOKEN], {});
    const lines = parseLines(logs);
    for (const line of lines) {
      assert.equal(typeof line.time, "string");
      assert.ok(["debug", "info", "warn", "error"].includes(String(line.level)));
      assert.equal(typeof line.msg, "string");
      for (const id of ["connection", "request"]) {
        if (id in line) assert.equal(typeof line[id], "string", `${id} in ${JSON.stringify(line)}`);
      }
    }
    const named = (msg: string) => lines.filter((line) => line.msg === msg);
    assert.equal(named("connection open").length, 1);
    assert.equal(named("connection closed").length, 1);
    assert.equal(named("connection closed")[0]?.code, 1001);
    assert.equal(named("upgrade refused").length, 1);
    assert.equal(named("upgrade refused")[0]?.reason, "wrong_token");
    assert.equal(named("upgrade refused")[0]?.path, "/?token=[REDACTED]");
    const starts = named("request start");
    const ends = named("request end");
    assert.deepEqual(
      starts.map((line) => [line.connection, line.request, line.kind]),
      [
        ["1", "1", "invocation"],
        ["1", "2", "commands"],
      ],
    );
    assert.deepEqual(
      ends.map((line) => [line.request, line.outcome, typeof line.duration_ms]),
      [
        ["1", "ok", "number"],
        ["2", "ok", "number"],
      ],
    );
    assert.equal(starts[0]?.source_id, "job-[REDACTED]");
  });
});

describe("token flags", () => {
  async function run(argv: string[], env: NodeJS.ProcessEnv) {
    const stderr = new PassThrough();
    let err = "";
    stderr.on("data", (d) => {
      err += d;
    });
    const code = await main(argv, { stdout: new PassThrough(), stderr, env, stopRequested: Promise.resolve() });
    return { code, err };
  }

  test("an empty --token or an empty RUNTIMEUSE_TOKEN is refused with one clear line", async () => {
    const flag = await run(["--token", " ", "--agent", "echo"], {});
    assert.equal(flag.code, 2);
    assert.match(flag.err, /^runtimeuse: --token must not be empty/);
    const env = await run(["--agent", "echo", "--port", "0"], { RUNTIMEUSE_TOKEN: "" });
    assert.equal(env.code, 2);
    assert.match(env.err, /^runtimeuse: RUNTIMEUSE_TOKEN is set but empty; unset it or give it a value\n$/);
  });

  test("limit flags reject values out of range", async () => {
    for (const [flag, value, pattern] of [
      ["--max-frame-bytes", "0", /--max-frame-bytes must be between 1 and/],
      ["--max-connections", "many", /--max-connections must be a whole number/],
      ["--ping-interval", "10", /--ping-interval must be between 100 and/],
      ["--max-buffered-bytes", "100", /--max-buffered-bytes must be between 1024 and/],
      ["--shutdown-timeout", "-1", /--shutdown-timeout must be a whole number|--shutdown-timeout/],
    ] as const) {
      const { code, err } = await run([flag, value, "--agent", "echo"], {});
      assert.equal(code, 2, flag);
      assert.match(err, pattern);
    }
  });

  test("the token from RUNTIMEUSE_TOKEN is removed from the environment the handler runs in", async () => {
    const env: NodeJS.ProcessEnv = { RUNTIMEUSE_TOKEN: TOKEN };
    const { code } = await run(["--agent", "echo", "--port", "0", "--host", "127.0.0.1"], env);
    assert.equal(code, 0);
    assert.equal(env.RUNTIMEUSE_TOKEN, undefined);
  });
});
