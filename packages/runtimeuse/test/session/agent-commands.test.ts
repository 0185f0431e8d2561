import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import type { AgentHandler, AgentInvocation } from "../../src/handler.js";
import { isRunning, waitFor } from "../commands/support/processes.js";
import { invocation, RawClient } from "../support/client.js";
import { startTestServer, type TestServer } from "../support/server.js";

// The commands a handler starts through invocation.runCommand belong to its
// turn: those it leaves running when it returns (or throws) are killed with
// their process groups before the request goes on, and a runCommand after
// that starts nothing. Through a real server and real processes.

let dir: string;
let server: TestServer;
let kept: AgentInvocation | undefined;

/** Starts a command that writes its pid to `file` and sleeps; resolves with the pid once it runs. */
async function startSleeper(run: AgentInvocation, file: string): Promise<number> {
  void run.runCommand(`echo $$ > ${file}.tmp && mv ${file}.tmp ${file}; exec sleep 300`).catch(() => {});
  const text = await waitFor(() => (existsSync(file) ? readFileSync(file, "utf8").trim() : undefined), "the pid");
  return Number(text);
}

const handler: AgentHandler = {
  async run(run) {
    const [action, file = ""] = run.userPrompt.split(" ");
    switch (action) {
      case "leave":
        await startSleeper(run, file);
        return { type: "text", text: "left it running" };
      case "throw":
        await startSleeper(run, file);
        throw new Error("gave up with a command running");
      case "background": {
        const outcome = await run.runCommand(`sleep 300 & echo $! > ${file}`);
        return { type: "text", text: `detached ${outcome.detachedBackgroundJobs}` };
      }
      case "keep":
        kept = run;
        return { type: "text", text: "kept" };
      case "stale":
        try {
          await kept?.runCommand(`touch ${file}`);
          return { type: "text", text: "ran" };
        } catch (error) {
          return { type: "text", text: `refused: ${(error as Error).message}` };
        }
      default:
        return { type: "text", text: `ok ${run.userPrompt}` };
    }
  },
};

before(async () => {
  dir = await mkdtemp(join(tmpdir(), "agent-commands-"));
  server = await startTestServer({ handler });
});
after(async () => {
  await server.close();
  await rm(dir, { recursive: true, force: true });
});

describe("an agent's commands end with its turn", () => {
  test("a command the handler left running is killed when it returns, before the post-agent commands and the result", async () => {
    const pidFile = join(dir, "left.pid");
    const client = await RawClient.connect(server.url);
    try {
      const check = `if kill -0 "$(cat ${pidFile})" 2>/dev/null; then echo still-running; exit 1; fi; echo gone`;
      client.send(
        invocation({
          user_prompt: `leave ${pidFile}`,
          post_agent_invocation_commands: [{ command: check }],
        }),
      );
      const { frames, terminal } = await client.untilTerminal();
      assert.deepEqual(terminal.data, { type: "text", text: "left it running" });
      const output = frames.filter((f) => f.message_type === "command_output_message" && f.command === check);
      assert.deepEqual(
        output.map((f) => f.text),
        ["gone\n"],
      );
      assert.equal(isRunning(Number(readFileSync(pidFile, "utf8"))), false);
      assert.ok(
        server.logs.some((line) => line.includes("the handler returned with commands still running; killing them")),
      );
      client.send(invocation({ user_prompt: "next" }));
      assert.deepEqual((await client.untilTerminal()).terminal.data, { type: "text", text: "ok next" });
    } finally {
      await client.close();
    }
  });

  test("a handler that throws with a command running ends with its error, and the command is gone", async () => {
    const pidFile = join(dir, "thrown.pid");
    const client = await RawClient.connect(server.url);
    try {
      client.send(invocation({ user_prompt: `throw ${pidFile}` }));
      const { terminal } = await client.untilTerminal();
      assert.equal(terminal.message_type, "error_message");
      assert.equal(terminal.error, "gave up with a command running");
      assert.equal(isRunning(Number(readFileSync(pidFile, "utf8"))), false);
    } finally {
      await client.close();
    }
  });

  test("a background job a finished command left behind is no running command: it stays after the turn", async () => {
    const pidFile = join(dir, "background.pid");
    const client = await RawClient.connect(server.url);
    try {
      client.send(invocation({ user_prompt: `background ${pidFile}` }));
      const { terminal } = await client.untilTerminal();
      assert.deepEqual(terminal.data, { type: "text", text: "detached true" });
      const pid = Number(readFileSync(pidFile, "utf8"));
      assert.equal(isRunning(pid), true);
      process.kill(pid, "SIGKILL");
    } finally {
      await client.close();
    }
  });

  test("runCommand through an invocation whose handler returned rejects, and nothing runs", async () => {
    const marker = join(dir, "stale-marker");
    const client = await RawClient.connect(server.url);
    try {
      client.send(invocation({ user_prompt: "keep" }));
      await client.untilTerminal();
      client.send(invocation({ user_prompt: `stale ${marker}` }));
      const { terminal } = await client.untilTerminal();
      assert.deepEqual(terminal.data, {
        type: "text",
        text: "refused: runCommand: the handler has already returned; commands run only during its turn",
      });
      assert.equal(existsSync(marker), false);
    } finally {
      await client.close();
    }
  });
});
