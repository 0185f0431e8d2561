import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import {
  type CommandOutcome,
  detachedProcessGroups,
  killDetachedProcessGroups,
  type RunCommandOptions,
  runCommand,
} from "../../src/commands/index.js";
import { commandName, isRunning, killGroup, runningInGroup, waitFor } from "./support/processes.js";

let scratch: string;
before(async () => {
  scratch = await mkdtemp(join(tmpdir(), "kill-"));
});
after(async () => {
  killDetachedProcessGroups(0);
  await rm(scratch, { recursive: true, force: true });
});

/**
 * Starts a command whose first line of stdout is `$$` (the shell's pid, which
 * is also its process group id) and waits until that many group members run.
 */
async function start(options: Omit<RunCommandOptions, "onOutput">, members: number) {
  let stdout = "";
  const outcome = runCommand({
    ...options,
    onOutput: (stream, text) => {
      if (stream === "stdout") stdout += text;
    },
  });
  const pgid = Number(await waitFor(() => /^(\d+)\n/.exec(stdout)?.[1], "the shell to print its pid"));
  const pids = await waitFor(() => {
    const running = runningInGroup(pgid);
    return running.length >= members ? running : undefined;
  }, `${members} processes in group ${pgid}`);
  return { outcome, pgid, pids, stdout: () => stdout };
}

async function allGone(pids: number[]): Promise<void> {
  await waitFor(() => pids.every((pid) => !isRunning(pid)), `processes ${pids.join(", ")} to be gone`);
}

describe("killing commands", () => {
  test("cancel kills a background job and every stage of a pipeline (sleep 300 & sleep 301 | cat)", async () => {
    const controller = new AbortController();
    const run = await start({ command: "echo $$; sleep 300 & sleep 301 | cat", signal: controller.signal }, 4);
    // Forked children show as "sh" until they exec: wait for the real names.
    const pids = await waitFor(() => {
      const running = runningInGroup(run.pgid);
      return running.map(commandName).sort().join(" ") === "cat sh sleep sleep" ? running : undefined;
    }, "sh, both sleeps and cat");
    controller.abort();
    const outcome: CommandOutcome = await run.outcome;
    assert.equal(outcome.cancelled, true);
    assert.equal(outcome.timedOut, false);
    assert.equal(outcome.exitCode, 143);
    await allGone(pids);
    assert.deepEqual(runningInGroup(run.pgid), []);
  });

  test("cancel and timeout also end what left the group below the shell (setsid), with its own group", async () => {
    for (const ending of ["cancel", "timeout"] as const) {
      const pidFile = join(scratch, `escaped-${ending}.pid`);
      const controller = new AbortController();
      const run = await start(
        {
          command: `echo $$; setsid sh -c 'echo $$ > ${pidFile}; sleep 300 & exec sleep 301' & sleep 302`,
          ...(ending === "cancel" ? { signal: controller.signal } : { timeoutMs: 1_500 }),
        },
        2,
      );
      const leader = Number(
        await waitFor(
          () => (existsSync(pidFile) ? readFileSync(pidFile, "utf8").trim() : undefined),
          "the escaped pid",
        ),
      );
      const escaped = await waitFor(() => {
        const members = runningInGroup(leader);
        return members.map(commandName).sort().join(" ") === "sleep sleep" ? members : undefined;
      }, "both sleeps of the escaped group");
      assert.ok(!run.pids.includes(leader), "the escaped process is not in the command's group");
      if (ending === "cancel") controller.abort();
      const outcome = await run.outcome;
      assert.equal(ending === "cancel" ? outcome.cancelled : outcome.timedOut, true, ending);
      await allGone([...run.pids, ...escaped]);
    }
  });

  test("a timeout kills the whole group and reports timedOut", async () => {
    const run = await start({ command: "echo $$; sleep 300 & sleep 301", timeoutMs: 300 }, 3);
    const outcome = await run.outcome;
    assert.equal(outcome.timedOut, true);
    assert.equal(outcome.cancelled, false);
    assert.equal(outcome.exitCode, 143);
    await allGone(run.pids);
  });

  test("cancel resolves without waiting for the grace period of a shell that ignores SIGTERM", async () => {
    const controller = new AbortController();
    // A ten-minute grace: if the outcome waited for it, this test would time out.
    const run = await start(
      { command: "trap '' TERM; echo $$; while :; do sleep 1; done", signal: controller.signal, killGraceMs: 600_000 },
      2,
    );
    controller.abort();
    const outcome = await run.outcome;
    assert.equal(outcome.cancelled, true);
    assert.ok(isRunning(run.pgid), "the shell ignores SIGTERM and is still running when the outcome arrives");
    killGroup(run.pgid);
    await allGone([run.pgid]);
  });

  test("a group that ignores SIGTERM is SIGKILLed after the grace period", async () => {
    const controller = new AbortController();
    const run = await start(
      { command: "trap '' TERM; echo $$; while :; do sleep 1; done", signal: controller.signal, killGraceMs: 200 },
      2,
    );
    controller.abort();
    await run.outcome;
    await allGone([run.pgid]);
    // One SIGKILL reaches the whole group, but each member takes its own moment to exit.
    await waitFor(() => runningInGroup(run.pgid).length === 0, "the rest of the group to exit");
  });

  test("a signal aborted before the start runs nothing", async () => {
    const marker = join(scratch, "never");
    const outcome = await runCommand({ command: `touch ${marker}`, signal: AbortSignal.abort() });
    assert.equal(outcome.cancelled, true);
    assert.equal(existsSync(marker), false);
  });

  test("a cancel while background jobs still hold the pipes after the shell exited kills them", async () => {
    const controller = new AbortController();
    const run = await start(
      { command: "echo $$; sleep 300 &", signal: controller.signal, exitDrainIdleMs: 600_000, exitDrainMaxMs: 600_000 },
      1,
    );
    const sleeper = await waitFor(
      () => runningInGroup(run.pgid).find((pid) => commandName(pid) === "sleep"),
      "the background sleep",
    );
    await waitFor(() => !isRunning(run.pgid), "the shell to exit");
    controller.abort();
    const outcome = await run.outcome;
    assert.equal(outcome.cancelled, true);
    await allGone([sleeper]);
  });
});

describe("background jobs when the shell exits on its own", () => {
  test("by default they keep running, detached, until killDetachedProcessGroups", async () => {
    const run = await start({ command: "echo $$; sleep 300 & echo started" }, 1);
    const outcome = await run.outcome;
    assert.equal(outcome.exitCode, 0);
    assert.equal(outcome.stdout, `${run.pgid}\nstarted\n`);
    assert.equal(outcome.detachedBackgroundJobs, true);
    const sleepers = runningInGroup(run.pgid);
    assert.equal(sleepers.length, 1);
    assert.ok((await detachedProcessGroups()).includes(run.pgid));
    assert.ok(killDetachedProcessGroups() >= 1);
    await allGone(sleepers);
    assert.equal((await detachedProcessGroups()).includes(run.pgid), false);
  });

  test("a detached job that writes later does not die of a closed pipe, and its output is not forwarded", async () => {
    const marker = join(scratch, "wrote-late");
    let streamed = "";
    const outcome = await runCommand({
      command: `(sleep 2; echo late; echo late >&2; touch ${marker}; sleep 300) & echo now`,
      onOutput: (_stream, text) => {
        streamed += text;
      },
    });
    assert.equal(outcome.detachedBackgroundJobs, true);
    await waitFor(() => existsSync(marker), "the background job to get past its writes");
    assert.equal(streamed, "now\n");
    assert.equal(outcome.stdout, "now\n");
    killDetachedProcessGroups(0);
  });

  test('with backgroundJobs "kill" they are terminated once the shell exits', async () => {
    let stdout = "";
    const outcome = await runCommand({
      command: "echo $$; sleep 300 > /dev/null 2>&1 & sleep 301 &",
      backgroundJobs: "kill",
      onOutput: (_stream, text) => {
        stdout += text;
      },
    });
    assert.equal(outcome.exitCode, 0);
    assert.equal(outcome.detachedBackgroundJobs, false);
    const pgid = Number(stdout.trim());
    await waitFor(() => runningInGroup(pgid).length === 0, "the background sleeps to be gone");
  });

  test("output the shell wrote before exiting is delivered in full to a slow listener", async () => {
    let delivered = 0;
    const outcome = await runCommand({
      command: "head -c 400000 /dev/zero | tr '\\0' z",
      onOutput: async (_stream, text) => {
        delivered += text.length;
        await new Promise((resolve) => setTimeout(resolve, 60));
      },
    });
    assert.equal(outcome.exitCode, 0);
    assert.equal(delivered, 400000);
    assert.equal(outcome.detachedBackgroundJobs, false);
  });
});
