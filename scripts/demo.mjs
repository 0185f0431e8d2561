#!/usr/bin/env node
// End-to-end demo with no API keys: starts the runtime CLI with a custom
// TypeScript handler on a free port, sends one request the way an application
// outside the sandbox would, and prints what comes back.
import { spawn } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { WebSocket } from "ws";

const root = fileURLToPath(new URL("..", import.meta.url));
const project = await mkdtemp(join(tmpdir(), "runtimeuse-demo-"));
await writeFile(join(project, "README.md"), "# demo project\n");
await writeFile(join(project, "main.py"), "print('hello')\n");

const runtime = spawn(
  process.execPath,
  [
    join(root, "packages/runtimeuse/bin/runtimeuse.js"),
    "--port",
    "0",
    "--host",
    "127.0.0.1",
    "--handler",
    join(root, "examples/demo-handler.ts"),
  ],
  { stdio: ["ignore", "pipe", "inherit"] },
);
const url = await new Promise((resolve, reject) => {
  let out = "";
  runtime.stdout.on("data", (chunk) => {
    out += chunk;
    const match = /runtimeuse listening on (ws:\/\/\S+)/.exec(out);
    if (match) resolve(match[1]);
  });
  runtime.once("exit", (code) => reject(new Error(`the runtime exited with code ${code}`)));
});
console.log(`\n== runtime listening on ${url}\n`);

const schema = {
  type: "json_schema",
  schema: {
    type: "object",
    properties: {
      task: { type: "string" },
      files: { type: "array", items: { type: "string" } },
      model: { type: "string" },
    },
    required: ["task", "files", "model"],
  },
};
const request = {
  message_type: "invocation_message",
  source_id: "demo-1",
  system_prompt: "You are a careful engineer.",
  user_prompt: "Summarise the project (token: demo-secret-123)",
  model: "demo-model",
  agent_env: { PROJECT_DIR: project },
  secrets_to_redact: ["demo-secret-123"],
  output_format_json_schema_str: JSON.stringify(schema),
  pre_agent_invocation_commands: [{ command: "echo preparing $PWD && git --version || true", cwd: project }],
};

const ws = new WebSocket(url);
let failed = false;
await new Promise((resolve, reject) => {
  ws.on("open", () => {
    console.log(`-> invocation_message  prompt=${JSON.stringify(request.user_prompt)}`);
    ws.send(JSON.stringify(request));
  });
  ws.on("message", (data) => {
    const message = JSON.parse(String(data));
    switch (message.message_type) {
      case "command_output_message":
        process.stdout.write(`<- command output [${message.stream}] ${message.command}: ${message.text}`);
        break;
      case "assistant_message":
        console.log(`<- assistant: ${message.text_blocks.join(" | ")}`);
        break;
      case "heartbeat_message":
        console.log(`<- heartbeat ${message.phase} ${message.elapsed_ms} ms`);
        break;
      case "result_message":
        console.log(
          `<- result (${message.data.type}):\n${JSON.stringify(message.data.structured_output ?? message.data.text, null, 2)}`,
        );
        console.log(`   metadata: ${JSON.stringify(message.metadata)}`);
        ws.send(JSON.stringify({ message_type: "end_session_message" }));
        break;
      case "error_message":
        console.log(`<- error: ${message.error}`);
        failed = true;
        ws.close();
        break;
      case "end_session_confirm_message":
        console.log("<- end_session_confirm_message");
        break;
      default:
        console.log(`<- ${message.message_type}`);
    }
  });
  ws.on("close", resolve);
  ws.on("error", reject);
});

runtime.kill("SIGTERM");
await new Promise((resolve) => runtime.once("exit", resolve));
await rm(project, { recursive: true, force: true });
console.log(failed ? "\n== demo failed" : "\n== demo finished: the secret never left the sandbox unredacted");
process.exit(failed ? 1 : 0);
