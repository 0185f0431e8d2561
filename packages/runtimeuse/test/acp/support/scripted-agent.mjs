#!/usr/bin/env node
// A scripted ACP agent for the tests, on the agent side of
// @agentclientprotocol/sdk. Each prompt names what to do: the prompt's text
// block that parses as JSON with a `scenario` field, e.g.
// {"scenario": "text"}. Answers, updates and callbacks are deterministic.
//
// Env: SCRIPTED_ACP_SYSTEM_PROMPT=1 advertises sessionCapabilities.systemPrompt;
// SCRIPTED_ACP_PID_FILE: the agent appends its pid there when it starts.
import { spawn } from "node:child_process";
import { appendFileSync, writeFileSync } from "node:fs";
import { Readable, Writable } from "node:stream";
import { setTimeout as sleep } from "node:timers/promises";
import { agent, ndJsonStream, PROTOCOL_VERSION } from "@agentclientprotocol/sdk/unstable";

if (process.env.SCRIPTED_ACP_PID_FILE) appendFileSync(process.env.SCRIPTED_ACP_PID_FILE, `${process.pid}\n`);

/** sessionId -> { cwd, systemPrompt, turns, cancel: AbortController } */
const sessions = new Map();
let nextSession = 1;
/** What the client said of itself in `initialize`. */
let clientInfo;

const app = agent({ name: "scripted-acp-agent" })
  .onRequest("initialize", ({ params }) => {
    clientInfo = params.clientInfo;
    return {
      protocolVersion: PROTOCOL_VERSION,
      agentInfo: { name: "scripted-acp-agent", version: "1.0.0" },
      agentCapabilities: {
        sessionCapabilities: {
          close: {},
          ...(process.env.SCRIPTED_ACP_SYSTEM_PROMPT === "1" ? { systemPrompt: {} } : {}),
        },
      },
    };
  })
  .onRequest("session/new", ({ params }) => {
    const sessionId = `scripted-${process.pid}-${nextSession++}`;
    sessions.set(sessionId, {
      cwd: params.cwd,
      systemPrompt: params.systemPrompt?.content?.map((block) => block.text).join("") ?? null,
      turns: 0,
      cancel: new AbortController(),
    });
    return {
      sessionId,
      configOptions: [
        {
          id: "model",
          name: "Model",
          category: "model",
          type: "select",
          currentValue: "scripted-default",
          options: [
            { value: "scripted-default", name: "Default" },
            { value: "scripted-large", name: "Large" },
          ],
        },
      ],
    };
  })
  .onRequest("session/set_config_option", ({ params }) => {
    const session = sessions.get(params.sessionId);
    if (session) session.model = params.value;
    return { configOptions: [] };
  })
  .onRequest("session/close", ({ params }) => {
    sessions.delete(params.sessionId);
    return {};
  })
  .onNotification("session/cancel", ({ params }) => {
    sessions.get(params.sessionId)?.cancel.abort();
  })
  .onRequest("session/prompt", async ({ params, client }) => {
    const session = sessions.get(params.sessionId);
    session.turns += 1;
    session.cancel = new AbortController();
    const texts = params.prompt.filter((block) => block.type === "text").map((block) => block.text);
    // A later turn of the session (a corrective prompt) goes on with the session's script.
    const script = texts.map(parseScript).find((value) => value !== undefined) ??
      session.script ?? { scenario: "text" };
    session.script = script;
    const say = (update) => client.notify("session/update", { sessionId: params.sessionId, update });
    const chunk = (text) => say({ sessionUpdate: "agent_message_chunk", content: { type: "text", text } });
    const context = { params, client, session, script, texts, say, chunk };
    const scenario = SCENARIOS[script.scenario];
    if (!scenario) throw new Error(`scripted agent: unknown scenario ${script.scenario}`);
    return (await scenario(context)) ?? { stopReason: "end_turn" };
  });

function parseScript(text) {
  try {
    const value = JSON.parse(text);
    return value && typeof value === "object" && typeof value.scenario === "string" ? value : undefined;
  } catch {
    return undefined;
  }
}

/** Resolves when the session's turn is cancelled. */
function cancelledTurn(session) {
  return new Promise((resolve) => {
    if (session.cancel.signal.aborted) resolve();
    session.cancel.signal.addEventListener("abort", () => resolve(), { once: true });
  });
}

const USAGE = { inputTokens: 11, outputTokens: 7, totalTokens: 18, cachedReadTokens: 2, cachedWriteTokens: 1 };

const SCENARIOS = {
  async text({ chunk, say, script }) {
    for (const piece of script.chunks ?? ["Hello", " world.\n\n", "Second para", "graph."]) {
      await chunk(piece);
      if (script.delayMs) await sleep(script.delayMs);
    }
    await say({ sessionUpdate: "usage_update", used: 18, size: 200000, cost: { amount: 0.0125, currency: "USD" } });
    return { stopReason: "end_turn", usage: USAGE };
  },

  /** Answers with the `clientInfo` the client gave in `initialize`, as JSON. */
  async "client-info"({ chunk }) {
    await chunk(JSON.stringify(clientInfo ?? null));
  },

  async updates({ chunk, say }) {
    await say({ sessionUpdate: "user_message_chunk", content: { type: "text", text: "echo of the prompt" } });
    await say({ sessionUpdate: "agent_thought_chunk", content: { type: "text", text: "Let me think." } });
    await chunk("Looking around. ");
    await say({
      sessionUpdate: "tool_call",
      toolCallId: "call-1",
      title: "List files",
      name: "shell",
      kind: "execute",
      status: "pending",
      rawInput: { command: "ls -la" },
    });
    await say({ sessionUpdate: "tool_call_update", toolCallId: "call-1", status: "in_progress" });
    await say({
      sessionUpdate: "tool_call_update",
      toolCallId: "call-1",
      status: "completed",
      content: [{ type: "content", content: { type: "text", text: "file-a\nfile-b\n" } }],
    });
    await say({
      sessionUpdate: "tool_call",
      toolCallId: "call-2",
      title: "Read notes.md",
      kind: "read",
      status: "pending",
    });
    await say({
      sessionUpdate: "tool_call_update",
      toolCallId: "call-2",
      status: "failed",
      rawInput: { path: "/work/notes.md" },
    });
    await say({
      sessionUpdate: "plan",
      entries: [
        { content: "look around", priority: "high", status: "completed" },
        { content: "write the answer", priority: "medium", status: "in_progress" },
        { content: "celebrate", priority: "low", status: "pending" },
      ],
    });
    await say({
      sessionUpdate: "available_commands_update",
      availableCommands: [{ name: "review", description: "review the code" }],
    });
    await say({ sessionUpdate: "current_mode_update", currentModeId: "default" });
    await say({ sessionUpdate: "config_option_update", configOptions: [] });
    await say({ sessionUpdate: "compaction_update", compactionId: "c-1", status: "in_progress" });
    await say({
      sessionUpdate: "compaction_summary_chunk",
      compactionId: "c-1",
      content: { type: "text", text: "a summary the client does not see" },
    });
    await say({ sessionUpdate: "compaction_update", compactionId: "c-1", status: "completed" });
    await say({ sessionUpdate: "session_info_update", title: "A scripted session" });
    await say({ sessionUpdate: "usage_update", used: 100, size: 1000 });
    await say({ sessionUpdate: "notice", severity: "info", title: "scripted notice" });
    await say({ sessionUpdate: "agent_thought_chunk", content: { type: "text", text: "Almost done." } });
    await chunk("Final answer.");
    return { stopReason: "end_turn", usage: USAGE };
  },

  async permission({ params, client, chunk }) {
    const response = await client.request("session/request_permission", {
      sessionId: params.sessionId,
      toolCall: { toolCallId: "call-perm", title: "Delete the build folder", kind: "delete", status: "pending" },
      options: [
        { optionId: "yes", name: "Allow", kind: "allow_once" },
        { optionId: "yes-always", name: "Always allow", kind: "allow_always" },
        { optionId: "no", name: "Reject", kind: "reject_once" },
      ],
    });
    const outcome = response.outcome.outcome === "selected" ? response.outcome.optionId : "cancelled";
    await chunk(`permission: ${outcome}`);
  },

  async fs({ params, client, chunk, script }) {
    const read = await client.request("fs/read_text_file", { sessionId: params.sessionId, path: script.read });
    const lines = await client.request("fs/read_text_file", {
      sessionId: params.sessionId,
      path: script.read,
      line: 2,
      limit: 1,
    });
    await client.request("fs/write_text_file", {
      sessionId: params.sessionId,
      path: script.write,
      content: `copied: ${read.content}`,
    });
    let missing = "";
    try {
      await client.request("fs/read_text_file", { sessionId: params.sessionId, path: `${script.read}.missing` });
    } catch (error) {
      missing = String(error?.message ?? error);
    }
    await chunk(JSON.stringify({ read: read.content, line2: lines.content, missing }));
  },

  /** Reads each of `script.reads` and writes each of `script.writes`; answers what each gave (its content or error). */
  async "fs-each"({ params, client, chunk, script }) {
    const outcome = async (call) => {
      try {
        return { ok: await call() };
      } catch (error) {
        return { error: String(error?.message ?? error) };
      }
    };
    const reads = [];
    for (const path of script.reads ?? []) {
      reads.push(await outcome(() => client.request("fs/read_text_file", { sessionId: params.sessionId, path })));
    }
    const writes = [];
    for (const path of script.writes ?? []) {
      writes.push(
        await outcome(() => client.request("fs/write_text_file", { sessionId: params.sessionId, path, content: "x" })),
      );
    }
    await chunk(JSON.stringify({ reads, writes }));
  },

  async terminal({ params, client, chunk, script }) {
    const terminal = await client.createTerminal({
      sessionId: params.sessionId,
      command: script.command,
      args: script.args ?? [],
      env: script.env ?? [],
      ...(script.outputByteLimit ? { outputByteLimit: script.outputByteLimit } : {}),
    });
    const exit = await terminal.waitForExit();
    const output = await terminal.currentOutput();
    await terminal.release();
    await chunk(JSON.stringify({ exit, output: output.output, truncated: output.truncated }));
  },

  /** A terminal that runs until the turn is cancelled. */
  async "terminal-cancel"({ params, client, session, script }) {
    const terminal = await client.createTerminal({ sessionId: params.sessionId, command: script.command });
    await Promise.race([terminal.waitForExit().catch(() => {}), cancelledTurn(session)]);
    return { stopReason: "cancelled" };
  },

  /** A process the agent starts itself (not a terminal), left running, and a turn that waits for cancel. */
  async spawn({ session, script, chunk }) {
    const child = spawn("sleep", ["1000"], { stdio: "ignore" });
    writeFileSync(script.pidFile, String(child.pid));
    await chunk("started a helper");
    await cancelledTurn(session);
    return { stopReason: "cancelled" };
  },

  async crash({ chunk }) {
    await chunk("about to crash");
    await sleep(20);
    process.exit(3);
  },

  /** Answers with script.answers[turn - 1] (the last one again past the end). */
  async json({ session, script, texts, chunk }) {
    if (script.promptFile) appendFileSync(script.promptFile, `${JSON.stringify(texts)}\n`);
    const answers = script.answers;
    await chunk(answers[Math.min(session.turns, answers.length) - 1]);
    return { stopReason: "end_turn", usage: USAGE };
  },

  /** Reports what the agent sees of the request. */
  async env({ session, script, texts, chunk }) {
    await chunk(
      JSON.stringify({
        token: process.env.RUNTIMEUSE_TOKEN ?? null,
        probe: process.env[script.name ?? "PROBE"] ?? null,
        pid: process.pid,
        cwd: session.cwd,
        model: session.model ?? "scripted-default",
        systemPrompt: session.systemPrompt,
        texts,
      }),
    );
  },

  async hang({ session }) {
    await cancelledTurn(session);
    return { stopReason: "cancelled" };
  },

  async stop({ script, chunk }) {
    await chunk("partial");
    return { stopReason: script.stopReason };
  },
};

app.connect(ndJsonStream(Writable.toWeb(process.stdout), Readable.toWeb(process.stdin)));
