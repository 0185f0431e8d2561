import assert from "node:assert/strict";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { TOKEN_ENV } from "../../src/server/auth.js";
import { assistantBlocks, isAlive, ofType, request, waitUntil } from "../agents/harness.js";
import { runOutOfFds } from "../support/out-of-fds.js";
import { type AcpRuntime, scenario, startAcpRuntime } from "./support/runtime.js";

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), "runtimeuse-acp-lifecycle-"));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function pids(file: string): Promise<number[]> {
  try {
    return (await readFile(file, "utf8")).split("\n").filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

/** Pids of every process in group `pgid`, from /proc. */
async function groupMembers(pgid: number): Promise<number[]> {
  const { readdir } = await import("node:fs/promises");
  const found: number[] = [];
  for (const name of await readdir("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = await readFile(`/proc/${name}/stat`, "utf8");
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      if (fields[2] === String(pgid) && fields[0] !== "Z") found.push(Number(name));
    } catch {}
  }
  return found;
}

describe("acp: cancel", () => {
  let runtime: AcpRuntime;
  before(async () => {
    runtime = await startAcpRuntime({ cwd: dir });
  });
  after(async () => {
    await runtime.stop();
  });

  test("a terminal streaming 10 MB is cancelled midway: one cancelled error, its process group gone (checked in /proc)", async () => {
    const pidFile = join(dir, "terminal.pid");
    // 10 MB in 100 KB lines, a little at a time, with a background child in the same group.
    const command = `echo $$ > ${pidFile}; sleep 1000 & i=0; while [ $i -lt 100 ]; do head -c 100000 /dev/zero | tr '\\0' x; echo; i=$((i+1)); sleep 0.05; done; wait`;
    const client = await runtime.client();
    client.send(scenario({ scenario: "terminal-cancel", command }));
    let streamed = 0;
    while (streamed < 1_000_000) {
      const frame = await client.next(60_000);
      assert.equal(frame.message_type, "command_output_message", JSON.stringify(frame).slice(0, 300));
      streamed += String(frame.text).length;
    }
    const [shell] = await pids(pidFile);
    assert.ok(shell, "the terminal's shell wrote its pid");
    assert.ok((await groupMembers(shell)).length >= 2, "the shell and its background child run");
    client.send({ message_type: "cancel_message" });
    const { frames, terminal } = await client.untilTerminal(60_000);
    assert.equal(terminal.message_type, "error_message");
    assert.equal(terminal.error, "Request cancelled");
    assert.equal(ofType(frames as never, "error_message").length, 1);
    await waitUntil(() => !isAlive(shell), "the terminal's shell is gone");
    let members: number[] = [];
    const deadline = Date.now() + 10_000;
    do {
      members = await groupMembers(shell);
    } while (members.length > 0 && Date.now() < deadline);
    assert.deepEqual(members, [], "nothing of the terminal's process group is left");
    assert.ok(streamed < 10_000_000, "the cancel landed in the middle");
    // The agent itself lives on for the next request.
    const next = await request(client, scenario({ scenario: "text" }));
    assert.equal(next.terminal.message_type, "result_message");
  });

  test("a process the agent started itself outlives session/cancel's grace and is then killed", async () => {
    const pidFile = join(dir, "helper.pid");
    const client = await runtime.client();
    client.send(scenario({ scenario: "spawn", pidFile }));
    await client.until("assistant_message", 30_000);
    const [helper] = await pids(pidFile);
    assert.ok(helper && isAlive(helper));
    client.send({ message_type: "cancel_message" });
    const { terminal } = await client.untilTerminal(30_000);
    assert.equal(terminal.error, "Request cancelled");
    await waitUntil(() => !isAlive(helper), "the helper the agent left running is killed");
  });
});

describe("acp: the agent process", () => {
  test("one process serves every request; the runtime's token never reaches it; agent_env does, through a process of its own", async () => {
    const pidFile = join(dir, "env.pids");
    const runtime = await startAcpRuntime({
      cwd: dir,
      baseEnv: { ...process.env, [TOKEN_ENV]: "the-runtime-token", SCRIPTED_ACP_PID_FILE: pidFile },
      // As the CLI passes it (cli/agents.ts).
      hiddenEnv: [TOKEN_ENV],
    });
    try {
      const client = await runtime.client();
      const first = await request(client, scenario({ scenario: "env" }));
      const second = await request(client, scenario({ scenario: "env" }));
      const a = JSON.parse(assistantBlocks(first.messages).join(""));
      const b = JSON.parse(assistantBlocks(second.messages).join(""));
      assert.equal(a.pid, b.pid, "the same agent process answered both");
      assert.equal(a.token, null);
      assert.equal(a.probe, null);
      assert.equal(a.cwd, dir);
      const withEnv = await request(client, scenario({ scenario: "env" }, { agent_env: { PROBE: "per-request" } }));
      const c = JSON.parse(assistantBlocks(withEnv.messages).join(""));
      assert.equal(c.probe, "per-request");
      assert.equal(c.token, null);
      assert.notEqual(c.pid, a.pid);
      const again = await request(client, scenario({ scenario: "env" }, { agent_env: { PROBE: "per-request" } }));
      assert.equal(JSON.parse(assistantBlocks(again.messages).join("")).pid, c.pid, "kept for the same agent_env");
      assert.equal((await pids(pidFile)).length, 2);
    } finally {
      await runtime.stop();
    }
    for (const pid of await pids(pidFile)) assert.ok(!isAlive(pid), `agent process ${pid} ended with the runtime`);
  });

  test("the system prompt is the prompt's first block, or session/new's systemPrompt when the agent takes one; the model is chosen when offered", async () => {
    const plain = await startAcpRuntime();
    const capable = await startAcpRuntime({ baseEnv: { ...process.env, SCRIPTED_ACP_SYSTEM_PROMPT: "1" } });
    try {
      const fields = { system_prompt: "Be terse.", model: "scripted-large" };
      const a = JSON.parse(
        assistantBlocks((await request(await plain.client(), scenario({ scenario: "env" }, fields))).messages).join(""),
      );
      assert.equal(a.systemPrompt, null);
      assert.equal(a.texts[0], "<system-instructions>\nBe terse.\n</system-instructions>");
      assert.equal(a.model, "scripted-large");
      const { messages, terminal } = await request(await capable.client(), scenario({ scenario: "env" }, fields));
      const b = JSON.parse(assistantBlocks(messages).join(""));
      assert.equal(b.systemPrompt, "Be terse.");
      assert.equal(b.texts.length, 1, "only the user prompt");
      assert.equal((terminal.metadata as Record<string, unknown>).model, "scripted-large");
    } finally {
      await Promise.all([plain.stop(), capable.stop()]);
    }
  });

  test("an agent that crashes mid-request: exactly one error_message; the next request runs on a restarted agent", async () => {
    const pidFile = join(dir, "crash.pids");
    const runtime = await startAcpRuntime({ baseEnv: { ...process.env, SCRIPTED_ACP_PID_FILE: pidFile } });
    try {
      const client = await runtime.client();
      const { messages, terminal } = await request(client, scenario({ scenario: "crash" }));
      assert.equal(terminal.message_type, "error_message");
      assert.match(String(terminal.error), /the acp agent failed: its process exited \(exit code 3\)/);
      assert.equal((terminal.metadata as Record<string, unknown>).code, "handler_error");
      const late = await client.drain(300);
      assert.equal([...messages, ...late].filter((m) => m.message_type === "error_message").length, 1);
      assert.equal(ofType([...messages, ...late] as never, "result_message").length, 0);
      const next = await request(client, scenario({ scenario: "text" }));
      assert.equal(next.terminal.message_type, "result_message", JSON.stringify(next.terminal));
      const started = await pids(pidFile);
      assert.equal(started.length, 2, "the agent was started again");
      assert.ok(runtime.agentLogs.some((line) => /agent process exited \(exit code 3\); restarting/.test(line)));
    } finally {
      await runtime.stop();
    }
  });

  test("an agent command that cannot start fails start() with the reason", async () => {
    const { createAcpHandler } = await import("../../src/handlers/acp/handler.js");
    const handler = createAcpHandler({ name: "acp", command: join(dir, "no-such-agent") });
    await assert.rejects(handler.start(), {
      message: `the acp agent could not start: its command or working directory was not found (spawn ${join(dir, "no-such-agent")} ENOENT)`,
    });
    await handler.close();
  });
});

describe("acp: an agent_env too large for exec", () => {
  test("the request ends with an error saying why, and the next request runs", async () => {
    const runtime = await startAcpRuntime({ cwd: dir });
    try {
      const client = await runtime.client();
      const big = await request(client, scenario({ scenario: "env" }, { agent_env: { BIG: "b".repeat(200_000) } }));
      assert.equal(big.terminal.message_type, "error_message");
      assert.match(
        String(big.terminal.error),
        /^the acp agent could not start: its command line and environment are larger than the system allows \(spawn E2BIG\)/,
      );
      const next = await request(client, scenario({ scenario: "text" }));
      assert.equal(next.terminal.message_type, "result_message");
    } finally {
      await runtime.stop();
    }
    assert.ok(
      ![...runtime.logs, ...runtime.agentLogs].some((line) => /uncaught|inside the runtime/.test(line)),
      runtime.logs.join("\n"),
    );
  });
});

describe("acp: out of file descriptors", () => {
  test("an agent process that cannot get its pipes fails to start with the reason; nothing escapes, and the next start works", async () => {
    const report = await runOutOfFds("acp");
    assert.match(
      String((report.withoutFds as { threw?: unknown }).threw),
      /^no file descriptor was free for its pipes \(spawn \S+ EMFILE\); raise the open-files limit \(ulimit -n\)$/,
    );
    assert.deepEqual(report.afterwards, { started: true });
    assert.deepEqual(report.uncaught, []);
  });
});
