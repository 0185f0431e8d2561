import assert from "node:assert/strict";
import { mkdtemp, readFile, realpath, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { commandEnv, runCommand } from "../../src/commands/index.js";
import { runOutOfFds } from "../support/out-of-fds.js";

let scratch: string;
before(async () => {
  scratch = await realpath(await mkdtemp(join(tmpdir(), "runner-")));
});
after(async () => {
  await rm(scratch, { recursive: true, force: true });
});

describe("runCommand basics", () => {
  test("a command that reads stdin gets end-of-file at once and finishes", async () => {
    const outcome = await runCommand({ command: 'cat; read line || echo "stdin was empty"' });
    assert.equal(outcome.exitCode, 0);
    assert.equal(outcome.stdout, "stdin was empty\n");
  });

  test("the shell's exit status is the exit code", async () => {
    const outcome = await runCommand({ command: "echo out; echo err >&2; exit 3" });
    assert.deepEqual(
      { exitCode: outcome.exitCode, stdout: outcome.stdout, stderr: outcome.stderr, signal: outcome.signal },
      { exitCode: 3, stdout: "out\n", stderr: "err\n", signal: undefined },
    );
  });

  test("kill -9 $$ reports 137 and the signal", async () => {
    const outcome = await runCommand({ command: "echo before; kill -9 $$; echo after" });
    assert.equal(outcome.exitCode, 137);
    assert.equal(outcome.signal, "SIGKILL");
    assert.equal(outcome.stdout, "before\n");
  });

  test("a shell killed by SIGTERM reports 143", async () => {
    const outcome = await runCommand({ command: "kill -TERM $$" });
    assert.equal(outcome.exitCode, 143);
  });

  test("a missing cwd is created, nested, and the command runs there", async () => {
    const cwd = join(scratch, "a", "b", "c");
    const outcome = await runCommand({ command: "pwd; echo made > file.txt", cwd });
    assert.equal(outcome.exitCode, 0);
    assert.equal(outcome.stdout, `${cwd}\n`);
    assert.equal(await readFile(join(cwd, "file.txt"), "utf8"), "made\n");
  });

  test("a cwd that cannot be created is exit code 127 with the reason on stderr", async () => {
    const file = join(scratch, "plain-file");
    await writeFile(file, "x");
    const seen: string[] = [];
    const outcome = await runCommand({
      command: "echo never",
      cwd: join(file, "sub"),
      onOutput: (stream, text) => {
        seen.push(`${stream}:${text}`);
      },
    });
    assert.equal(outcome.exitCode, 127);
    assert.match(outcome.stderr, /cannot create cwd .*plain-file\/sub/);
    assert.equal(seen.length, 1);
    assert.match(seen[0] ?? "", /^stderr:cannot create cwd/);
  });

  test("env is merged over the runtime's environment and hidden names are not passed down", async () => {
    const baseEnv = { PATH: process.env.PATH, KEEP: "kept", RUNTIMEUSE_TOKEN: "tok", OVERRIDE: "old" };
    const outcome = await runCommand({
      // biome-ignore lint/suspicious/noTemplateCurlyInString: a shell parameter expansion
      command: 'echo "$KEEP|${RUNTIMEUSE_TOKEN-unset}|$OVERRIDE|$EXTRA"',
      baseEnv,
      hiddenEnv: ["RUNTIMEUSE_TOKEN"],
      env: { OVERRIDE: "new", EXTRA: "extra" },
    });
    assert.equal(outcome.stdout, "kept|unset|new|extra\n");
  });

  test("commandEnv lets a request set a hidden name explicitly", () => {
    const env = commandEnv({ baseEnv: { A: "1", SECRET: "x" }, hiddenEnv: ["SECRET"], env: { SECRET: "mine" } });
    assert.deepEqual(env, { A: "1", SECRET: "mine" });
  });

  test("the command runs in a process group of its own", async () => {
    const outcome = await runCommand({ command: "echo $$; ps -o pgid= -p $$" });
    const [pid, pgid] = outcome.stdout.trim().split(/\s+/);
    assert.equal(pgid, pid);
    assert.notEqual(Number(pgid), process.pid);
  });

  test("stdout and stderr stream in order per stream", async () => {
    const seen = { stdout: "", stderr: "" };
    const outcome = await runCommand({
      command: "for i in 1 2 3 4 5; do echo o$i; echo e$i >&2; sleep 0.01; done",
      onOutput: (stream, text) => {
        seen[stream] += text;
      },
    });
    assert.equal(outcome.exitCode, 0);
    assert.equal(seen.stdout, "o1\no2\no3\no4\no5\n");
    assert.equal(seen.stderr, "e1\ne2\ne3\ne4\ne5\n");
  });

  test("an onOutput that throws gets nothing more and the command still completes", async () => {
    let calls = 0;
    const outcome = await runCommand({
      command: "echo one; sleep 0.05; echo two; sleep 0.05; echo three",
      onOutput: () => {
        calls++;
        throw new Error("socket gone");
      },
    });
    assert.equal(outcome.exitCode, 0);
    assert.equal(calls, 1);
    assert.equal(outcome.stdout, "one\ntwo\nthree\n");
  });

  test("an onOutput whose promise rejects does not stall the command", async () => {
    const outcome = await runCommand({
      command: "head -c 3000000 /dev/zero | tr '\\0' x; echo; echo done",
      onOutput: () => Promise.reject(new Error("socket gone")),
    });
    assert.equal(outcome.exitCode, 0);
    assert.ok(outcome.stdout.endsWith("done\n"), "the capture goes on after the listener failed");
  });
});

describe("timeouts", () => {
  test("a timeout past setTimeout's range (24.8 days), or Infinity, lets the command finish", async () => {
    for (const timeoutMs of [3_000_000_000, Number.MAX_SAFE_INTEGER, Number.POSITIVE_INFINITY]) {
      const outcome = await runCommand({ command: "sleep 0.2; echo done", timeoutMs });
      assert.deepEqual(
        { exitCode: outcome.exitCode, timedOut: outcome.timedOut, stdout: outcome.stdout },
        { exitCode: 0, timedOut: false, stdout: "done\n" },
        `timeoutMs ${timeoutMs}`,
      );
    }
  });
});

describe("captured output cap", () => {
  test("stdout past the cap keeps the byte-accurate tail and says it was truncated", async () => {
    // 3 MiB of ASCII: the default cap keeps exactly the last 1 MiB.
    const outcome = await runCommand({ command: "head -c 3145728 /dev/zero | tr '\\0' a; printf END" });
    assert.equal(outcome.stdoutTruncated, true);
    assert.equal(Buffer.byteLength(outcome.stdout), 1024 * 1024);
    assert.ok(outcome.stdout.endsWith("aaaEND"));
  });

  test("the cut never splits a multi-byte character and the kept text is a suffix", async () => {
    // "€" is 3 bytes: a 1000-byte cap keeps at most 999 bytes, 333 whole characters.
    const outcome = await runCommand({
      command: "i=0; while [ $i -lt 2000 ]; do printf '€'; i=$((i+1)); done; printf Z",
      maxCapturedBytes: 1000,
    });
    assert.equal(outcome.stdoutTruncated, true);
    assert.ok(Buffer.byteLength(outcome.stdout) <= 1000);
    assert.equal(outcome.stdout, `${"€".repeat(333)}Z`);
  });

  test("output under the cap is kept whole and not flagged", async () => {
    const outcome = await runCommand({ command: "printf abc; printf def >&2", maxCapturedBytes: 6 });
    assert.deepEqual(
      [outcome.stdout, outcome.stdoutTruncated, outcome.stderr, outcome.stderrTruncated],
      ["abc", false, "def", false],
    );
  });

  test("what streams is not capped even when the capture is", async () => {
    let streamed = 0;
    const outcome = await runCommand({
      command: "head -c 200000 /dev/zero | tr '\\0' b",
      maxCapturedBytes: 100,
      onOutput: (_stream, text) => {
        streamed += Buffer.byteLength(text);
      },
    });
    assert.equal(streamed, 200000);
    assert.equal(outcome.stdout, "b".repeat(100));
    assert.equal(outcome.stdoutTruncated, true);
  });
});

describe("out of file descriptors", () => {
  test("a command that cannot get its pipes ends with 127 and says why; nothing escapes, and the next one runs", async () => {
    const report = await runOutOfFds("command");
    const reason =
      "cannot run command: no file descriptor was free for its pipes (spawn /bin/sh EMFILE); raise the open-files limit (ulimit -n)\n";
    assert.deepEqual(report.withoutFds, { exitCode: 127, stdout: "", stderr: reason, notified: [reason] });
    assert.deepEqual(report.afterwards, { exitCode: 0, stdout: "ran\n", stderr: "", notified: ["ran\n"] });
    assert.deepEqual(report.uncaught, []);
  });
});

describe("a command too large for exec", () => {
  // One argument or environment string may hold at most 128 KiB on Linux; past that, exec fails with E2BIG.
  const E2BIG_REASON =
    /^cannot run command: its command line and environment are larger than the system allows \(spawn E2BIG\); pass large data in a file instead\n$/;

  test("a command line past the limit ends with 127 and says why; nothing is thrown", async () => {
    const notified: string[] = [];
    const outcome = await runCommand({
      command: `echo ${"a".repeat(200_000)} | wc -c`,
      onOutput: (_stream, text) => {
        notified.push(text);
      },
    });
    assert.equal(outcome.exitCode, 127);
    assert.match(outcome.stderr, E2BIG_REASON);
    assert.deepEqual(notified, [outcome.stderr]);
  });

  test("an environment past the limit does the same, and the next command runs", async () => {
    const outcome = await runCommand({ command: "echo ran", env: { BIG: "b".repeat(200_000) } });
    assert.equal(outcome.exitCode, 127);
    assert.match(outcome.stderr, E2BIG_REASON);
    const next = await runCommand({ command: "echo ran" });
    assert.deepEqual([next.exitCode, next.stdout], [0, "ran\n"]);
  });
});
