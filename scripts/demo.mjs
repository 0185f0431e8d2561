#!/usr/bin/env node
// End-to-end demo with no API keys. It starts the runtime CLI with a custom
// TypeScript handler (examples/demo-handler.ts) on a free port, plus a local
// HTTP server standing in for presigned upload URLs, then drives one request
// with the TypeScript client the way an application outside the sandbox would:
// a pre-command with streamed output, streamed assistant messages, a secret
// redacted, the client approving the command that writes the report, a
// structured result, that report uploaded as an artifact, and a second query
// that continues the first one's conversation.
import { spawn } from "node:child_process";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { createServer } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { RuntimeUseClient } from "runtimeuse-client/node";

const root = fileURLToPath(new URL("..", import.meta.url));
const sandbox = await mkdtemp(join(tmpdir(), "runtimeuse-demo-"));
const project = join(sandbox, "project");
const reports = join(sandbox, "reports");
await mkdir(project, { recursive: true });
await writeFile(join(project, "README.md"), "# demo project\n");
await writeFile(join(project, "main.py"), "print('hello')\n");

// Stands in for object storage: accepts PUTs and remembers what arrived.
const uploads = [];
const storage = createServer((request, response) => {
  const chunks = [];
  request.on("data", (chunk) => chunks.push(chunk));
  request.on("end", () => {
    uploads.push({ path: request.url, type: request.headers["content-type"], body: Buffer.concat(chunks).toString() });
    response.end();
  });
});
await new Promise((resolve) => storage.listen(0, "127.0.0.1", resolve));
const storageUrl = `http://127.0.0.1:${storage.address().port}`;

const runtime = spawn(
  process.execPath,
  [
    join(root, "packages/runtimeuse/bin/runtimeuse.js"),
    ...["--port", "0", "--host", "127.0.0.1", "--log-level", "warn"],
    ...["--handler", join(root, "examples/demo-handler.ts")],
    ...["--state-dir", join(sandbox, "state")],
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
console.log(`== runtime listening on ${url}\n`);

const client = new RuntimeUseClient({ url });
let failed = false;
try {
  const prompt = "Summarise the project (deploy token: demo-secret-123)";
  console.log(`-> query: ${prompt}`);
  const session = await client.session();
  const result = await session.query(prompt, {
    sourceId: "demo-1",
    systemPrompt: "You are a careful engineer.",
    model: "demo-model",
    conversationId: "demo-project",
    agentEnv: { PROJECT_DIR: project, REPORT_DIR: reports },
    secretsToRedact: ["demo-secret-123"],
    outputSchema: {
      type: "object",
      properties: { task: { type: "string" }, files: { type: "array", items: { type: "string" } } },
      required: ["task", "files"],
    },
    preAgentInvocationCommands: [{ command: "echo preparing in $PWD; ls | wc -l", cwd: project }],
    artifactsDirs: [reports],
    onCommandOutput: ({ stream, command, text }) => process.stdout.write(`<- output [${stream}] ${command}: ${text}`),
    onAssistantMessage: ({ textBlocks }) => console.log(`<- assistant: ${textBlocks.join(" | ")}`),
    approvalPolicy: ["shell"],
    onApprovalRequest: ({ toolName, input, reason }) => {
      console.log(`<- approval asked: ${toolName} (${reason}): ${input.command}`);
      console.log("-> allow");
      return { decision: "allow" };
    },
    onArtifactUploadRequest: ({ filename, filepath }) => {
      console.log(`<- artifact offered: ${filepath}`);
      return { presignedUrl: `${storageUrl}/bucket/${filename}`, contentType: "text/plain" };
    },
  });
  console.log(`<- result (${result.data.type}):`);
  console.log(
    JSON.stringify(result.data.type === "structured_output" ? result.data.structuredOutput : result.data.text, null, 2),
  );
  console.log(`   metadata: ${JSON.stringify(result.metadata)}`);
  const followUp = "Now list the tests";
  console.log(`\n-> query in the same conversation: ${followUp}`);
  const next = await session.query(followUp, {
    systemPrompt: "You are a careful engineer.",
    model: "demo-model",
    conversationId: "demo-project",
    agentEnv: { PROJECT_DIR: project },
  });
  const remembered = JSON.parse(next.data.type === "text" ? next.data.text : "{}").earlierTasks;
  console.log(`<- the agent remembers: ${JSON.stringify(remembered)}`);
  const { artifacts, usage } = await session.close();
  console.log(`<- session usage: ${usage?.model_calls ?? 0} model calls, ${usage?.input_tokens ?? 0} input tokens`);
  for (const entry of artifacts ?? [])
    console.log(`<- manifest: ${entry.filepath} ${entry.size} bytes ${entry.status}`);
  for (const upload of uploads)
    console.log(`== storage received ${upload.path} (${upload.type}): ${JSON.stringify(upload.body)}`);
  if (uploads.length === 0) throw new Error("the report was not uploaded");
} catch (error) {
  failed = true;
  console.error(`demo failed: ${error instanceof Error ? error.message : error}`);
} finally {
  runtime.kill("SIGTERM");
  await new Promise((resolve) => runtime.once("exit", resolve));
  storage.close();
  await rm(sandbox, { recursive: true, force: true });
}
console.log(
  failed
    ? "\n== demo failed"
    : "\n== demo finished: a real run end to end, the secret redacted before it left the sandbox",
);
process.exit(failed ? 1 : 0);
