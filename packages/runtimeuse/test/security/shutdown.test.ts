import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { commands, invocation, RawClient, waitFor } from "../support/client.js";
import { FIXTURES, isRunning, pidsIn, runPrintingPids, startCli } from "./support.js";

describe("graceful shutdown of the CLI", () => {
  test("SIGTERM during a command: terminal sent, process group killed, socket closed 1001, exit 0", async () => {
    const cli = await startCli(["--agent", "echo"]);
    const client = await RawClient.connect(cli.url);
    const bystander = await RawClient.connect(cli.url);
    // TERM is ignored by the shell and inherited by sleep, so only the SIGKILL that follows can end them.
    const pids = await runPrintingPids(client, "trap '' TERM; sleep 300 & echo $!; echo $$; wait; echo never");
    assert.ok(pids.every(isRunning));

    cli.child.kill("SIGTERM");
    const { terminal } = await client.untilTerminal();
    assert.deepEqual(terminal, {
      message_type: "error_message",
      error: "Request cancelled: the runtime is shutting down",
      metadata: { code: "cancelled" },
    });
    assert.equal(await client.closed, 1001);
    assert.equal(await bystander.closed, 1001, "idle connections are closed with 1001 too");
    assert.deepEqual(await cli.exited, { code: 0, signal: null });
    assert.ok(
      pids.every((pid) => !isRunning(pid)),
      `processes ${pids.join(", ")} were killed before exit`,
    );
    assert.match(cli.stderr(), /stopping: refusing new connections, cancelling in-flight requests signal=SIGTERM/);
    assert.match(cli.stderr(), /request end .*outcome=shutdown/);
    assert.match(cli.stderr(), /INFO {2}stopped/);
  });

  test("SIGTERM also ends background jobs that finished commands left running", async () => {
    const cli = await startCli(["--agent", "echo"]);
    const client = await RawClient.connect(cli.url);
    client.send(commands(["trap '' TERM; sleep 300 > /dev/null 2>&1 & echo $!"]));
    const { terminal } = await client.untilTerminal();
    const [job] = pidsIn(String((terminal.results as Array<{ stdout: string }>)[0]?.stdout));
    assert.ok(job !== undefined && isRunning(job), "the background job outlives its command");
    cli.child.kill("SIGTERM");
    assert.deepEqual(await cli.exited, { code: 0, signal: null });
    assert.equal(isRunning(job), false, `background job ${job} was killed before exit`);
    assert.match(cli.stderr(), /terminating background jobs left by commands groups=1/);
  });

  test("SIGHUP (the terminal it ran in closed) stops it as SIGTERM does: the command's processes are killed, exit 0", async () => {
    const cli = await startCli(["--agent", "echo"]);
    const client = await RawClient.connect(cli.url);
    const pids = await runPrintingPids(client, "sleep 300 & echo $!; echo $$; wait");
    cli.child.kill("SIGHUP");
    const { terminal } = await client.untilTerminal();
    assert.equal(terminal.error, "Request cancelled: the runtime is shutting down");
    assert.equal(await client.closed, 1001);
    assert.deepEqual(await cli.exited, { code: 0, signal: null });
    assert.ok(
      pids.every((pid) => !isRunning(pid)),
      `processes ${pids.join(", ")} were killed before exit`,
    );
    assert.match(cli.stderr(), /stopping: .* signal=SIGHUP/);
  });

  test("SIGINT when idle exits 0 and releases the port", async () => {
    const cli = await startCli(["--agent", "echo"]);
    cli.child.kill("SIGINT");
    assert.deepEqual(await cli.exited, { code: 0, signal: null });
    await assert.rejects(RawClient.connect(cli.url), /ECONNREFUSED/);
  });

  test("a handler that ignores its signal is cut off at --shutdown-timeout and the CLI still exits 0", async () => {
    const cli = await startCli(["--handler", `${FIXTURES}stubborn.mjs`, "--shutdown-timeout", "300"]);
    const client = await RawClient.connect(cli.url);
    client.send(invocation());
    assert.deepEqual(await client.next(), { message_type: "assistant_message", text_blocks: ["started"] });
    cli.child.kill("SIGTERM");
    assert.equal((await client.untilTerminal()).terminal.error, "Request cancelled: the runtime is shutting down");
    assert.deepEqual(await cli.exited, { code: 0, signal: null });
    assert.match(cli.stderr(), /shutdown timed out; dropping the connections still open/);
  });

  test("a second signal exits at once, without waiting for the shutdown", async () => {
    const cli = await startCli(["--handler", `${FIXTURES}stubborn.mjs`, "--shutdown-timeout", "600000"]);
    const client = await RawClient.connect(cli.url);
    client.send(invocation());
    await client.next();
    cli.child.kill("SIGTERM");
    await client.untilTerminal();
    await waitFor(() => cli.stderr().includes("stopping:"), 20_000, "the first signal to be handled");
    assert.equal(cli.child.exitCode, null, "the first signal waits for the stubborn handler");
    cli.child.kill("SIGTERM");
    assert.deepEqual(await cli.exited, { code: 143, signal: null });
    await client.closed;
  });
});
