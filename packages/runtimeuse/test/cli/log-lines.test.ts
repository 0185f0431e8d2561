import assert from "node:assert/strict";
import { createServer } from "node:net";
import { describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { WebSocket } from "ws";
import { DEFAULT_LOG_BUDGET } from "../../src/log-budget.js";
import { type CliChild, expectRefused, startCli } from "../security/support.js";
import { invocation, RawClient, waitFor } from "../support/client.js";

const THROWS = fileURLToPath(new URL("../fixtures/handlers/throws.mjs", import.meta.url));

type Line = Record<string, unknown>;

/** The JSON log lines the CLI wrote so far. */
function lines(cli: CliChild): Line[] {
  return cli
    .stderr()
    .split("\n")
    .filter((line) => line.startsWith("{"))
    .map((line) => JSON.parse(line) as Line);
}

async function stop(cli: CliChild): Promise<void> {
  cli.child.kill("SIGTERM");
  assert.deepEqual(await cli.exited, { code: 0, signal: null });
}

/** Whether this machine can listen on the IPv6 loopback (a container may have no IPv6). */
async function ipv6Loopback(): Promise<boolean> {
  const probe = createServer();
  return new Promise((resolve) => {
    probe.once("error", () => resolve(false));
    probe.listen(0, "::1", () => probe.close(() => resolve(true)));
  });
}

describe("log lines of a real CLI", () => {
  test("on an IPv6 address, the listening line and the log give the URL with the address in brackets", async (t) => {
    if (!(await ipv6Loopback())) {
      t.skip("no IPv6 loopback here");
      return;
    }
    const cli = await startCli(["--agent", "echo", "--host", "::1", "--log-format", "json"]);
    try {
      assert.match(cli.url, /^ws:\/\/\[::1\]:\d+$/);
      // Info lines are written in batches, a little after the line on stdout.
      const listening = () => lines(cli).find((line) => line.msg === "listening");
      await waitFor(() => listening() !== undefined, 5_000, "the listening log line");
      assert.equal(listening()?.url, cli.url);
      const client = await RawClient.connect(cli.url);
      client.send(invocation({ user_prompt: "over IPv6" }));
      assert.equal((await client.untilTerminal()).terminal.message_type, "result_message");
      await client.close();
    } finally {
      await stop(cli);
    }
  });

  test("a handler's error is logged once per request at warn, with its name, message and stack, redacted", async () => {
    const cli = await startCli(["--handler", THROWS, "--log-format", "json", "--log-level", "warn"]);
    try {
      await throwAndCheck(cli);
    } finally {
      await stop(cli);
    }
  });

  async function throwAndCheck(cli: CliChild): Promise<void> {
    const client = await RawClient.connect(cli.url);
    client.send(invocation({ user_prompt: "type", source_id: "job-1" }));
    const typeError = (await client.untilTerminal()).terminal;
    client.send(invocation({ user_prompt: "database is down; password pw-9931", secrets_to_redact: ["pw-9931"] }));
    const down = (await client.untilTerminal()).terminal;
    client.send(invocation({ user_prompt: "ok" }));
    assert.equal((await client.untilTerminal()).terminal.message_type, "result_message");
    await client.close();
    const failed = () => lines(cli).filter((line) => line.msg === "handler failed");
    await waitFor(() => failed().length === 2, 5_000, "two handler failure lines");
    assert.match(String(typeError.error), /Cannot read properties of undefined/);
    assert.equal(down.error, "database is down; password [REDACTED]");
    const [first, second] = failed() as [Line, Line];
    assert.equal(first.level, "warn");
    assert.equal(first.error_name, "TypeError");
    assert.equal(first.source_id, "job-1");
    assert.equal(first.connection, "1");
    assert.equal(first.request, "1");
    assert.match(String(first.stack), /^TypeError: Cannot read properties of undefined[^\n]*\n\s+at .*throws\.mjs/);
    assert.equal(second.error_name, "Error");
    assert.equal(second.error, "database is down; password [REDACTED]");
    assert.match(String(second.stack), /^Error: database is down; password \[REDACTED\]\n\s+at /);
    assert.ok(!cli.stderr().includes("pw-9931"));
  }

  test("refused frames and a 429 are logged with their code, and a flood is capped with a count of what was not logged", async () => {
    const cli = await startCli(["--agent", "echo", "--log-format", "json", "--token", "right-token"]);
    for (let i = 0; i < 6; i++) await expectRefused(`${cli.url}/?token=wrong-${i}`);
    assert.equal((await expectRefused(`${cli.url}/?token=wrong-again`)).status, 429);
    const throttled = () => lines(cli).filter((line) => line.msg === "upgrade refused" && line.status === 429);
    await waitFor(() => throttled().length === 1, 5_000, "the 429's log line").finally(() => stop(cli));
    assert.equal(throttled()[0]?.level, "warn");
    assert.equal(throttled()[0]?.reason, "throttled");

    // A fresh runtime, so the budget the upgrades used is whole again.
    const fresh = await startCli(["--agent", "echo", "--log-format", "json"]);
    try {
      await floodAndCheck(fresh);
    } finally {
      await stop(fresh);
    }
  });

  async function floodAndCheck(fresh: CliChild): Promise<void> {
    const client = await RawClient.connect(fresh.url);
    client.send("{not json");
    client.send({ message_type: "gossip" });
    client.send({ message_type: "invocation_message", system_prompt: 1 });
    client.ws.send(Buffer.from([1, 2, 3]), { binary: true });
    for (let i = 0; i < 4; i++) assert.equal((await client.next()).message_type, "error_message");
    const refused = () => lines(fresh).filter((line) => line.msg === "frame refused");
    await waitFor(() => refused().length === 4, 5_000, "four refusal lines");
    assert.deepEqual(
      refused().map((line) => [line.level, line.code, line.connection]),
      [
        ["warn", "invalid_json", "1"],
        ["warn", "unknown_message_type", "1"],
        ["warn", "invalid_field", "1"],
        ["warn", "binary_frame", "1"],
      ],
    );
    assert.equal(refused()[2]?.field, "system_prompt");
    for (let i = 0; i < 300; i++) client.send("{flood");
    for (let i = 0; i < 300; i++) await client.next();
    await client.close();
    await waitFor(() => lines(fresh).some((line) => line.msg === "connection closed"), 5_000, "the close line");
    assert.equal(refused().length, DEFAULT_LOG_BUDGET.lines, "no more than the budget per window");
  }

  test("the close line says who closed and what the code means", async () => {
    const cli = await startCli(["--agent", "echo", "--log-format", "json"]);
    try {
      await closeAndCheck(cli);
    } finally {
      if (cli.child.exitCode === null) cli.child.kill("SIGKILL");
    }
  });

  async function closeAndCheck(cli: CliChild): Promise<void> {
    const closeWith = async (code: number) => {
      const client = await RawClient.connect(cli.url);
      client.ws.close(code);
      await client.closed;
    };
    await closeWith(1000);
    await closeWith(1011);
    // A peer whose TCP connection just ends, without a close frame.
    const raw = await RawClient.connect(cli.url);
    (raw.ws as unknown as { _socket: { destroy(): void } })._socket.destroy();
    await raw.closed;
    const ended = await RawClient.connect(cli.url);
    ended.send({ message_type: "end_session_message" });
    await ended.closed;
    const open = new WebSocket(cli.url);
    await new Promise((resolve) => open.once("open", resolve));
    const closes = () => lines(cli).filter((line) => line.msg === "connection closed");
    await waitFor(() => closes().length === 4, 5_000, "four close lines");
    await stop(cli);
    await waitFor(() => closes().length === 5, 5_000, "the shutdown's close line");
    assert.deepEqual(
      closes().map((line) => [line.connection, line.by, line.code]),
      [
        ["1", "client", 1000],
        ["2", "client", 1011],
        ["3", "network", 1006],
        ["4", "runtime", 1000],
        ["5", "runtime", 1001],
      ],
    );
    assert.equal(closes()[0]?.meaning, "normal closure");
    assert.match(String(closes()[1]?.meaning), /runtimeuse-client 0\.15\.1 ends every call this way/);
    assert.match(String(closes()[2]?.meaning), /^abnormal closure/);
    assert.equal(closes()[4]?.meaning, "going away");
  }
});
