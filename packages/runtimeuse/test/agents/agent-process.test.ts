import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { parseStat } from "../../src/commands/processes.js";
import { AgentProcess } from "../../src/handlers/claude/agent-process.js";
import { processTree } from "../../src/handlers/shared/process-tree.js";
import { createLogger, silentSink } from "../../src/logger.js";
import { runOutOfFds } from "../support/out-of-fds.js";
import { isAlive, waitUntil } from "./harness.js";

// A stand-in for an agent process that does not clean up after itself: it
// ignores SIGTERM, and so do its children, one of which runs in a session of
// its own (out of reach of any process-group kill).
const STUBBORN_AGENT = `
trap '' TERM
setsid -w sh -c 'trap "" TERM; echo $$ >> "$1"; exec tail -f /dev/null' x "$PIDS" &
tail -f /dev/null &
echo $! >> "$PIDS"
echo $$ >> "$PIDS"
wait
`;

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), "runtimeuse-agent-process-"));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

function readPids(file: string): number[] {
  try {
    return readFileSync(file, "utf8")
      .split("\n")
      .filter(Boolean)
      .map((line) => Number.parseInt(line, 10));
  } catch {
    return [];
  }
}

describe("ending an agent's process tree", () => {
  test("terminate() ends the agent and every descendant, even ones that ignore SIGTERM in a session of their own", async () => {
    const script = join(dir, "stubborn.sh");
    const pidsFile = join(dir, "pids");
    await writeFile(script, STUBBORN_AGENT);
    const agent = new AgentProcess({ logger: createLogger(silentSink), killGraceMs: 300 });
    agent.spawn({
      command: "/bin/sh",
      args: [script],
      env: { ...process.env, PIDS: pidsFile },
      signal: new AbortController().signal,
    });
    await waitUntil(() => readPids(pidsFile).length === 3, "the stand-in agent started its children");
    const pids = readPids(pidsFile);
    assert.ok(pids.includes(agent.pid as number));

    const tree = await agent.tree();
    for (const pid of pids)
      assert.ok(
        tree.some((entry) => entry.pid === pid),
        `pid ${pid} is in the tree`,
      );

    try {
      await agent.terminate(tree);
      await waitUntil(() => pids.every((pid) => !isAlive(pid)), "every process of the tree is gone");
      assert.equal(await agent.waitForExit(1), true);
    } finally {
      for (const pid of pids) {
        try {
          process.kill(pid, "SIGKILL");
        } catch {}
      }
    }
  });

  test("the tree of a process that has exited is empty, and terminating it is a no-op", async () => {
    const agent = new AgentProcess({ logger: createLogger(silentSink), killGraceMs: 300 });
    agent.spawn({
      command: "/bin/sh",
      args: ["-c", "exit 0"],
      env: { ...process.env },
      signal: new AbortController().signal,
    });
    assert.equal(await agent.waitForExit(60_000), true);
    assert.deepEqual(await agent.tree(), []);
    await agent.terminate();
  });

  test("processTree() walks parent links from the root, the root first", async () => {
    const tree = await processTree(process.pid);
    assert.equal(tree[0]?.pid, process.pid);
  });

  test("parseStat() reads pid, parent, group and start time, also with spaces and parentheses in the name", () => {
    const fields = ["S", "41", "42", ...Array.from({ length: 16 }, () => "0"), "123456", "0"];
    assert.deepEqual(parseStat(`77 (a (b) c) ${fields.join(" ")}`), { pid: 77, ppid: 41, pgid: 42, start: "123456" });
    assert.equal(parseStat(`77 (zombie) Z ${fields.slice(1).join(" ")}`), undefined);
  });
});

describe("out of file descriptors", () => {
  test("Claude Code that cannot get its pipes: spawn throws a clear error at once (the SDK reports it); nothing escapes", async () => {
    const report = await runOutOfFds("claude");
    assert.deepEqual(report.withoutFds, {
      threw:
        "Claude Code could not be started: no file descriptor was free for its pipes (EMFILE or ENFILE); raise the open-files limit (ulimit -n)",
    });
    assert.deepEqual(report.afterwards, { started: true });
    assert.deepEqual(report.uncaught, []);
  });
});

describe("too large for exec", () => {
  test("Claude Code with an environment past the system's limit: spawn throws a clear error at once", () => {
    const agent = new AgentProcess({ logger: createLogger(silentSink), killGraceMs: 300 });
    assert.throws(
      () =>
        agent.spawn({
          command: "/bin/sh",
          args: ["-c", "exit 0"],
          env: { ...process.env, BIG: "b".repeat(200_000) },
          signal: new AbortController().signal,
        }),
      {
        message:
          "Claude Code could not be started: its command line and environment are larger than the system allows (spawn E2BIG); pass large data in a file instead",
      },
    );
  });
});
