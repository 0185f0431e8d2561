import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { PassThrough, Writable } from "node:stream";
import { describe, test } from "node:test";
import { createStreamSink, guardStream } from "../../src/logger.js";
import { commands, invocation, RawClient } from "../support/client.js";
import { startCli } from "./support.js";

/** utime + stime of a process, in clock ticks (/proc/<pid>/stat fields 14 and 15). */
function cpuTicks(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return Number(fields[11]) + Number(fields[12]);
}

describe("a log destination that fails", () => {
  test("a CLI whose stdout and stderr readers went away keeps serving, idles, reports the loss on /health and exits 0 on SIGTERM", async () => {
    const cli = await startCli(["--agent", "echo", "--log-level", "debug"]);
    // The parent stops reading both pipes: every later write by the runtime gets EPIPE.
    cli.child.stdout?.destroy();
    cli.child.stderr?.destroy();
    for (let i = 0; i < 3; i++) {
      const client = await RawClient.connect(cli.url);
      client.send(invocation({ user_prompt: `hello ${i}` }));
      assert.deepEqual((await client.untilTerminal()).terminal.data, { type: "text", text: `hello ${i}` });
      client.send(commands(["echo out; echo err >&2"]));
      assert.equal((await client.untilTerminal()).terminal.message_type, "command_execution_result_message");
      client.send("not json");
      assert.equal((await client.next()).message_type, "error_message");
      await client.close();
    }
    const health = (await (await fetch(`${cli.url.replace("ws:", "http:")}/health`)).json()) as Record<string, number>;
    assert.ok((health.log_lines_dropped ?? 0) > 0, JSON.stringify(health));
    // A process spinning on its failed log burns a whole core (about 100 ticks a second).
    const before = cpuTicks(cli.child.pid as number);
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    const idle = cpuTicks(cli.child.pid as number) - before;
    assert.ok(idle < 30, `the idle runtime used ${idle} clock ticks in one second`);
    cli.child.kill("SIGTERM");
    assert.deepEqual(await cli.exited, { code: 0, signal: null });
  });

  test("a stream sink drops and counts lines once its stream errors, without throwing or writing again", () => {
    let writes = 0;
    const stream = new Writable({
      write(_chunk, _encoding, callback) {
        writes++;
        callback(Object.assign(new Error("write EPIPE"), { code: "EPIPE" }));
      },
    });
    const sink = createStreamSink({ stream, format: "json" });
    sink.write("info", "first");
    assert.equal(writes, 1);
    return new Promise<void>((resolve) =>
      setImmediate(() => {
        sink.write("error", "second");
        sink.write("warn", "third");
        assert.equal(writes, 1, "nothing more is written to a failed stream");
        assert.equal(sink.dropped?.(), 3);
        resolve();
      }),
    );
  });

  test("a guarded stream reports its first failure once and keeps writing while it works", () => {
    const stream = new PassThrough();
    let text = "";
    stream.on("data", (chunk) => {
      text += chunk;
    });
    const failures: string[] = [];
    const guarded = guardStream(stream, (error) => failures.push(error.message));
    assert.equal(guarded.write("a\n"), true);
    stream.emit("error", new Error("EAGAIN"));
    stream.emit("error", new Error("EAGAIN again"));
    assert.equal(guarded.write("b\n"), false);
    assert.deepEqual(failures, ["EAGAIN"]);
    assert.equal(guarded.failed, true);
    assert.equal(guarded.dropped, 2);
    assert.equal(text, "a\n");
  });
});
