import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { type AcpRuntime, scenario, startAcpRuntime } from "../acp/support/runtime.js";
import { assistantBlocks, isAlive, request, WAIT_MS, waitUntil } from "../agents/harness.js";
import { answerApproval, startedPid, untilType } from "./support.js";

// The ACP host with the scripted ACP agent: session/request_permission goes to
// the client under an approval policy, usage has the common shape and adds up
// over a session, and an interrupt is session/cancel with the turn's answer kept.

let dir: string;
let runtime: AcpRuntime;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), "runtimeuse-hitl-acp-"));
  runtime = await startAcpRuntime({ cwd: dir, permissions: "deny" });
});
after(async () => {
  await runtime.stop();
  await rm(dir, { recursive: true, force: true });
});

const USAGE = { input_tokens: 11, output_tokens: 7, cache_read_tokens: 2, cache_write_tokens: 1, model_calls: 1 };

describe("acp agents: a person in the loop", () => {
  test("with a policy, session/request_permission asks the client: allow picks the allow option (over --acp-permissions deny)", async () => {
    const client = await runtime.client();
    client.send(scenario({ scenario: "permission" }, { approval_policy: ["delete"] }));
    const asked = await answerApproval(client, "allow");
    assert.equal(asked.tool_name, "Delete the build folder");
    assert.equal(asked.tool_kind, "delete");
    const { frames, terminal } = await client.untilTerminal(WAIT_MS);
    assert.equal(terminal.message_type, "result_message", JSON.stringify(terminal));
    assert.deepEqual(assistantBlocks(frames as never), ["permission: yes"]);
  });

  test("deny picks the reject option; a policy that does not cover the tool allows it without asking", async () => {
    const client = await runtime.client();
    client.send(scenario({ scenario: "permission" }, { approval_policy: "always" }));
    await answerApproval(client, "deny", "keep the build");
    const denied = await client.untilTerminal(WAIT_MS);
    assert.deepEqual(assistantBlocks(denied.frames as never), ["permission: no"]);

    const unasked = await request(client, scenario({ scenario: "permission" }, { approval_policy: ["execute"] }));
    assert.ok(!unasked.messages.some((m) => m.message_type === "approval_request_message"));
    assert.deepEqual(assistantBlocks(unasked.messages), ["permission: yes"]);
  });

  test("usage is the agent's, in the common shape with its cost; the session's end sums its requests", async () => {
    const client = await runtime.client();
    const first = await request(client, scenario({ scenario: "text" }));
    const second = await request(client, scenario({ scenario: "text" }));
    for (const { terminal } of [first, second]) {
      assert.deepEqual((terminal.metadata as Record<string, unknown>).usage, { ...USAGE, cost_usd: 0.0125 });
    }
    client.send({ message_type: "end_session_message" });
    const confirm = await untilType(client, "end_session_confirm_message");
    assert.deepEqual(confirm.usage, {
      input_tokens: 22,
      output_tokens: 14,
      cache_read_tokens: 4,
      cache_write_tokens: 2,
      model_calls: 2,
      cost_usd: 0.025,
    });
  });

  test("interrupt during a long terminal command: session/cancel, the command's processes are gone, post-commands ran, the result is flagged interrupted", async () => {
    const pidFile = join(dir, "terminal.pid");
    const after = join(dir, "post-ran");
    const client = await runtime.client();
    client.send(
      scenario(
        { scenario: "terminal-cancel", command: `echo $$ > ${pidFile}; exec sleep 300` },
        { post_agent_invocation_commands: [{ command: `touch ${after}` }] },
      ),
    );
    const pid = await startedPid(pidFile);
    client.send({ message_type: "interrupt_message" });
    const { terminal } = await client.untilTerminal(WAIT_MS);
    assert.equal(terminal.message_type, "result_message", JSON.stringify(terminal));
    assert.equal((terminal.metadata as Record<string, unknown>).interrupted, true);
    assert.deepEqual(terminal.data, { type: "text", text: "" });
    await waitUntil(() => !isAlive(pid), "the terminal's process is gone");
    assert.ok(existsSync(after), "the post-agent command ran");
    const next = await request(client, scenario({ scenario: "text" }));
    assert.equal(next.terminal.message_type, "result_message", "the agent serves the next request");
  });

  test("interrupt while the agent's own helper runs: its text so far is the answer, and the helper is killed", async () => {
    const pidFile = join(dir, "helper.pid");
    const client = await runtime.client();
    client.send(scenario({ scenario: "spawn", pidFile }));
    await untilType(client, "assistant_message");
    const helper = await startedPid(pidFile);
    client.send({ message_type: "interrupt_message" });
    const { terminal } = await client.untilTerminal(WAIT_MS);
    assert.deepEqual(terminal.data, { type: "text", text: "started a helper" });
    assert.equal((terminal.metadata as Record<string, unknown>).interrupted, true);
    await waitUntil(() => !isAlive(helper), "the helper the agent left running is killed");
  });
});
