import assert from "node:assert/strict";
import { test } from "node:test";
import { type AcpAgentOptions, type AcpHandler, startAcpAgent } from "../../src/index.js";
import { runtimeVersion } from "../../src/version.js";
import { invocation, RawClient } from "../support/client.js";
import { memorySink, startTestServer } from "../support/server.js";
import { SCRIPTED_AGENT } from "./support/runtime.js";

// What README.md "Embedding" shows: an ACP agent started with startAcpAgent
// answers a RuntimeUseServer's requests; the presets go the same way in
// adapters.test.ts, against their real adapters.

/** Starts the scripted ACP agent with `options`, serves one request with `scenario` through an embedded server, returns its terminal. */
async function terminalOf(scenario: Record<string, unknown>, options: Partial<AcpAgentOptions> = {}) {
  const agent = await startAcpAgent({
    name: "scripted",
    command: process.execPath,
    args: [SCRIPTED_AGENT],
    ...options,
  });
  const server = await startTestServer({ handler: agent });
  try {
    const client = await RawClient.connect(server.url);
    client.send(invocation({ user_prompt: JSON.stringify(scenario) }));
    const { terminal } = await client.untilTerminal();
    await client.close();
    return terminal;
  } finally {
    await server.close();
    await agent.close();
  }
}

test("startAcpAgent starts any ACP agent by its command; an embedded RuntimeUseServer serves it", async () => {
  const logs: string[] = [];
  const terminal = await terminalOf(
    { scenario: "text", chunks: ["Hello ", "embedder."] },
    { logSink: memorySink(logs) },
  );
  assert.equal(terminal.message_type, "result_message", JSON.stringify(terminal));
  assert.deepEqual((terminal as { data?: unknown }).data, { type: "text", text: "Hello embedder." });
  assert.equal((terminal as { metadata: Record<string, unknown> }).metadata.agent, "scripted");
});

test("startAcpAgent tells the agent it is runtimeuse at this runtime's version unless given another", async () => {
  const clientInfoOf = async (options: Partial<AcpAgentOptions> = {}) => {
    const terminal = await terminalOf({ scenario: "client-info" }, options);
    return JSON.parse((terminal as { data: { text: string } }).data.text) as unknown;
  };
  assert.deepEqual(await clientInfoOf(), { name: "runtimeuse", version: runtimeVersion() });
  assert.deepEqual(await clientInfoOf({ clientVersion: "9.9.9-embedder" }), {
    name: "runtimeuse",
    version: "9.9.9-embedder",
  });
});

test("startAcpAgent refuses a name that is no preset, naming the presets", async () => {
  await assert.rejects(
    startAcpAgent("gpt" as "codex"),
    (error: unknown) =>
      error instanceof TypeError &&
      error.message ===
        'unknown ACP agent "gpt": choose from codex, claude-code, gemini, or give its { name, command, args }',
  );
});

test("startAcpAgent rejects with the reason when the agent cannot start", async () => {
  let agent: AcpHandler | undefined;
  await assert.rejects(
    (async () => {
      agent = await startAcpAgent({
        name: "broken",
        command: process.execPath,
        args: ["-e", "process.exit(3)"],
        limits: { startTimeoutMs: 5_000 },
      });
    })(),
    (error: unknown) =>
      error instanceof Error &&
      error.message === "the broken agent could not start: it exited before answering initialize (exit code 3)",
  );
  assert.equal(agent, undefined);
});
