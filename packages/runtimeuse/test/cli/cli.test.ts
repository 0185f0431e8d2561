import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { createServer } from "node:net";
import { PassThrough } from "node:stream";
import { describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { main } from "../../src/cli/main.js";
import { invocation, RawClient } from "../support/client.js";

const BIN = fileURLToPath(new URL("../../bin/runtimeuse.js", import.meta.url));
const HANDLERS = fileURLToPath(new URL("../fixtures/handlers/", import.meta.url));

/** Runs main() in-process and captures what it prints. */
async function runMain(argv: string[], env: NodeJS.ProcessEnv = {}) {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = "";
  let err = "";
  stdout.on("data", (d) => {
    out += d;
  });
  stderr.on("data", (d) => {
    err += d;
  });
  const code = await main(argv, { stdout, stderr, env, cwd: HANDLERS, stopRequested: Promise.resolve() });
  return { code, out, err };
}

/** Starts the built binary and waits for its listening line. */
async function startBinary(args: string[]): Promise<{ child: ChildProcess; url: string; stderr: () => string }> {
  const child = spawn(process.execPath, [BIN, ...args], { stdio: ["ignore", "pipe", "pipe"] });
  let err = "";
  child.stderr?.on("data", (d) => {
    err += d;
  });
  const url = await new Promise<string>((resolve, reject) => {
    let out = "";
    child.stdout?.on("data", (d) => {
      out += d;
      const match = /runtimeuse listening on (ws:\/\/\S+)/.exec(out);
      if (match?.[1]) resolve(match[1]);
    });
    child.once("exit", (code) => reject(new Error(`exited with ${code}: ${err}`)));
  });
  return { child, url, stderr: () => err };
}

describe("CLI flags", () => {
  test("--help prints usage with every flag and exits 0", async () => {
    const { code, out } = await runMain(["--help"]);
    assert.equal(code, 0);
    for (const flag of ["--port", "--host", "--agent", "--handler"]) assert.ok(out.includes(flag), flag);
  });

  test("--version prints the package version", async () => {
    const { code, out } = await runMain(["--version"]);
    assert.equal(code, 0);
    assert.match(out, /^\d+\.\d+\.\d+\n$/);
  });

  const bad: Array<[string[], RegExp]> = [
    [["--bogus"], /Unknown option '--bogus'/],
    [["--port", "http"], /--port must be a whole number/],
    [["--port", "70000"], /--port must be between 0 and 65535/],
    [["--agent", "gpt"], /unknown agent "gpt"; choose from openai, claude, echo, acp, codex, claude-code, gemini/],
    [["--agent", "echo,echo"], /--agent names "echo" twice/],
    [["--acp-permissions", "maybe"], /--acp-permissions must be one of allow, deny/],
    [["--handler", "missing.js"], /handler file not found: .*missing\.js/],
    [["--handler", "nothing.mjs"], /exports no handler/],
    [["--log-format", "xml"], /--log-format must be one of text, json/],
    [["stray"], /positional argument|Unexpected argument/],
  ];
  for (const [argv, pattern] of bad) {
    test(`${argv.join(" ")} gives one clear line and exit code 2`, async () => {
      const { code, err } = await runMain(argv);
      assert.equal(code, 2);
      assert.match(err, pattern);
      assert.equal(err.trim().split("\n").length, 1, err);
    });
  }

  test("a port in use says so", async () => {
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, "127.0.0.1", resolve));
    const port = (blocker.address() as { port: number }).port;
    const { code, err } = await runMain(["--agent", "echo", "--host", "127.0.0.1", "--port", String(port)]);
    blocker.close();
    assert.equal(code, 2);
    assert.match(err, new RegExp(`port ${port} is already in use`));
  });
});

describe("CLI binary", () => {
  test("the built binary serves a .ts handler without a build step, and exits 0 on SIGTERM", async () => {
    const { child, url } = await startBinary([
      "--port",
      "0",
      "--host",
      "127.0.0.1",
      "--handler",
      `${HANDLERS}shout.ts`,
    ]);
    const client = await RawClient.connect(url);
    client.send(invocation({ user_prompt: "quiet please" }));
    const { frames } = await client.untilTerminal();
    assert.deepEqual(frames, [
      { message_type: "assistant_message", text_blocks: ["shouting: QUIET PLEASE"] },
      { message_type: "result_message", metadata: {}, data: { type: "text", text: "QUIET PLEASE" } },
    ]);
    child.kill("SIGTERM");
    const code = await new Promise((resolve) => child.once("exit", resolve));
    assert.equal(code, 0);
    await client.closed;
  });

  test("a named `handler` export works and --agent echo answers offline", async () => {
    const named = await startBinary(["--port", "0", "--host", "127.0.0.1", "--handler", `${HANDLERS}named.mjs`]);
    const client = await RawClient.connect(named.url);
    client.send(invocation({ model: "m1" }));
    assert.deepEqual((await client.untilTerminal()).terminal.data, { type: "text", text: "named m1" });
    named.child.kill("SIGTERM");

    const echo = await startBinary(["--port", "0", "--host", "127.0.0.1", "--agent", "echo"]);
    const second = await RawClient.connect(echo.url);
    const format = JSON.stringify({ type: "json_schema", schema: { type: "object" } });
    second.send(invocation({ user_prompt: '{"answer": 42}', output_format_json_schema_str: format }));
    const { terminal } = await second.untilTerminal();
    assert.deepEqual(terminal.data, { type: "structured_output", structured_output: { answer: 42 } });
    echo.child.kill("SIGTERM");
    await new Promise((resolve) => echo.child.once("exit", resolve));
    assert.match(echo.stderr(), /request start .*kind=invocation/);
    assert.match(echo.stderr(), /request end .*outcome=ok duration_ms=\d+/);
  });

  test("an error thrown from a handler's timer is logged and the runtime keeps serving", async () => {
    const { child, url, stderr } = await startBinary([
      "--port",
      "0",
      "--host",
      "127.0.0.1",
      "--handler",
      `${HANDLERS}stray.mjs`,
    ]);
    const client = await RawClient.connect(url);
    for (const prompt of ["one", "two"]) {
      client.send(invocation({ user_prompt: prompt }));
      assert.deepEqual((await client.untilTerminal()).terminal.data, { type: "text", text: `still alive: ${prompt}` });
    }
    assert.equal(child.exitCode, null);
    assert.match(stderr(), /uncaught exception \(the runtime keeps serving\).*stray error from a timer/s);
    assert.match(stderr(), /unhandled promise rejection.*forgotten rejection/s);
    child.kill("SIGTERM");
    await new Promise((resolve) => child.once("exit", resolve));
  });
});
