import assert from "node:assert/strict";
import { PassThrough } from "node:stream";
import { describe, test } from "node:test";
import { main } from "../../src/cli/main.js";
import { AGENT_PACKAGES, installCommand } from "../../src/handlers/agent-packages.js";
import { startCli } from "../agents/cli.js";
import { assistantBlocks, invocation, isAlive, RawClient, request, waitUntil } from "../agents/harness.js";
import { SCRIPTED_AGENT } from "./support/runtime.js";

function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return { PATH: process.env.PATH, HOME: process.env.HOME, ...extra };
}

/** Runs main() in this process with `locatePackage` simulating missing packages; returns the exit code and stderr. */
async function runMain(argv: string[], missing: string[]): Promise<{ code: number; stderr: string }> {
  const stderr = new PassThrough();
  let text = "";
  stderr.on("data", (chunk) => {
    text += String(chunk);
  });
  const code = await main(argv, {
    stdout: new PassThrough(),
    stderr,
    env: cleanEnv(),
    stopRequested: new Promise(() => {}),
    locatePackage: (name) => (missing.includes(name) ? undefined : "/nonexistent"),
  });
  return { code, stderr: text };
}

describe("acp in the CLI", () => {
  test("--agent acp -- <command> runs any ACP agent; SIGTERM ends the agent process with the runtime", async () => {
    const cli = await startCli(
      ["--agent", "acp", "--port", "0", "--host", "127.0.0.1", "--", process.execPath, SCRIPTED_AGENT],
      cleanEnv(),
    );
    let agentPid: number | undefined;
    try {
      assert.ok(cli.url, cli.stderr());
      const client = await RawClient.connect(cli.url);
      const { messages, terminal } = await request(
        client,
        invocation({ user_prompt: JSON.stringify({ scenario: "env" }) }),
      );
      await client.close();
      assert.equal(terminal.message_type, "result_message", JSON.stringify(terminal));
      agentPid = JSON.parse(assistantBlocks(messages).join("")).pid as number;
      assert.ok(isAlive(agentPid));
    } finally {
      assert.equal(await cli.stop(), 0);
    }
    await waitUntil(() => !isAlive(agentPid as number), "the agent process is gone");
  });

  test("several agents: the invocation's agent field picks one, the first is the default, another name is unknown_agent", async () => {
    const cli = await startCli(
      ["--agent", "echo,acp", "--port", "0", "--host", "127.0.0.1", "--", process.execPath, SCRIPTED_AGENT],
      cleanEnv(),
    );
    try {
      assert.ok(cli.url, cli.stderr());
      const client = await RawClient.connect(cli.url);
      const prompt = JSON.stringify({ scenario: "text", chunks: ["from acp"] });
      const byDefault = await request(client, invocation({ user_prompt: prompt }));
      assert.deepEqual(byDefault.terminal.data, { type: "text", text: prompt }, "echo, the first listed");
      const chosen = await request(client, invocation({ user_prompt: prompt, agent: "acp" }));
      assert.deepEqual(chosen.terminal.data, { type: "text", text: "from acp" });
      const unknown = await request(
        client,
        invocation({ user_prompt: prompt, agent: "codex", pre_agent_invocation_commands: [{ command: "echo never" }] }),
      );
      assert.equal(unknown.terminal.message_type, "error_message");
      assert.deepEqual(unknown.messages.length, 1, "nothing of the request ran");
      const metadata = unknown.terminal.metadata as Record<string, unknown>;
      assert.equal(metadata.code, "unknown_agent");
      assert.equal(metadata.agent, "codex");
      assert.deepEqual(metadata.agents, ["echo", "acp"]);
      assert.match(String(unknown.terminal.error), /unknown agent "codex": this runtime runs "echo", "acp"/);
      await client.close();
    } finally {
      assert.equal(await cli.stop(), 0);
    }
  });

  test("an ACP agent that cannot start stops the CLI with exit code 2 and one line", async () => {
    const cli = await startCli(["--agent", "acp", "--port", "0", "--", "/nonexistent/agent"], cleanEnv());
    assert.equal(await cli.exited, 2);
    const lines = cli.stderr().trim().split("\n");
    assert.equal(lines.length, 1, cli.stderr());
    assert.match(lines[0] as string, /^runtimeuse: the acp agent could not start: /);
  });

  test("--agent acp needs a command after --, and a command needs --agent acp", async () => {
    const without = await startCli(["--agent", "acp", "--port", "0"], cleanEnv());
    assert.equal(await without.exited, 2);
    assert.match(without.stderr(), /--agent acp needs the agent's command after "--"/);
    const stray = await startCli(["--agent", "echo", "--port", "0", "--", "node"], cleanEnv());
    assert.equal(await stray.exited, 2);
    assert.match(stray.stderr(), /a command after "--" is only for --agent acp/);
  });

  for (const preset of ["codex", "claude-code", "gemini"] as const) {
    test(`--agent ${preset} without its package exits with code 2 and one line naming the package and the command that installs it`, async () => {
      const packages = AGENT_PACKAGES[preset] ?? [];
      const pkg = packages[0];
      assert.ok(pkg, preset);
      const { code, stderr } = await runMain(["--agent", preset, "--port", "0"], [pkg.name]);
      assert.equal(code, 2);
      const lines = stderr.trim().split("\n");
      assert.equal(lines.length, 1, stderr);
      assert.equal(
        lines[0],
        `runtimeuse: the ${preset} agent needs ${pkg.name}, which is not installed; install with: ${installCommand(preset, packages)}`,
      );
    });
  }

  test("a preset without its key starts with a warning naming the variable (a client may send it in agent_env)", async () => {
    const cli = await startCli(["--agent", "codex", "--port", "0", "--host", "127.0.0.1"], cleanEnv());
    try {
      assert.ok(cli.url, cli.stderr());
      assert.match(
        cli.stderr(),
        /runtimeuse: warning: CODEX_API_KEY is not set: each client must send it \(or OPENAI_API_KEY\) in agent_env/,
      );
    } finally {
      assert.equal(await cli.stop(), 0);
    }
  });
});
