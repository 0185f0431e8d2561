import assert from "node:assert/strict";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { echoHandler } from "../../src/handlers/echo.js";
import { readAnswering } from "../artifacts/support/answering.js";
import { PutSink } from "../artifacts/support/put-sink.js";
import { TestHttpServer } from "../downloads/support/http-server.js";
import { commands, type Frame, invocation, RawClient } from "../support/client.js";
import { startTestServer, type TestServer } from "../support/server.js";

let root: string;
let sink: PutSink;
let files: TestHttpServer;
const servers: TestServer[] = [];

before(async () => {
  root = await mkdtemp(join(tmpdir(), "runtimeuse-move-"));
  sink = await PutSink.start();
  files = await TestHttpServer.start();
});
after(async () => {
  await Promise.all(servers.map((server) => server.close()));
  await sink.close();
  await files.close();
  await rm(root, { recursive: true, force: true });
});

async function runtime(stateDir: string): Promise<TestServer> {
  const server = await startTestServer({ handler: echoHandler, conversations: { stateDir } });
  servers.push(server);
  return server;
}

async function ask(client: RawClient, fields: Record<string, unknown>): Promise<Frame> {
  client.send(invocation(fields));
  return (await client.untilTerminal(30_000)).terminal;
}

test("a conversation moved to a runtime with another state dir (artifact out, download in) continues there", async () => {
  const stateA = join(root, "sandbox-a", "state");
  const stateB = join(root, "sandbox-b", "state");
  const outbox = join(root, "sandbox-a", "outbox");

  // Sandbox A: two runs, then the file leaves through an artifacts directory.
  const a = await runtime(stateA);
  const clientA = await RawClient.connect(a.url);
  for (const prompt of ["fix the failing test", "now update the changelog"]) {
    await ask(clientA, { user_prompt: prompt, conversation_id: "c1" });
  }
  const copy = `cp "${join(stateA, "conversations", "c1.jsonl")}" "${outbox}/"`;
  clientA.send(commands([copy], { artifacts_dirs: [outbox] }));
  const out = await readAnswering(clientA, sink, "command_execution_result_message");
  assert.deepEqual(out.at(-1)?.results, [{ command: copy, exit_code: 0, stdout: "" }]);
  clientA.send({ message_type: "end_session_message" });
  await readAnswering(clientA, sink, "end_session_confirm_message");
  const uploaded = sink.uploadsOf(join(outbox, "c1.jsonl"));
  assert.equal(uploaded.length, 1, "the conversation's file was uploaded");
  const body = uploaded[0]?.body as Buffer;
  assert.deepEqual(body, await readFile(join(stateA, "conversations", "c1.jsonl")));
  await clientA.close();

  // Sandbox B: the first invocation downloads the file into its state directory, then continues.
  const b = await runtime(stateB);
  const url = files.file("/presigned/c1.jsonl", body);
  const clientB = await RawClient.connect(b.url);
  const terminal = await ask(clientB, {
    user_prompt: "and bump the version",
    conversation_id: "c1",
    pre_agent_downloadables: [{ download_url: `${url}?X-Signature=fake`, working_dir: join(stateB, "conversations") }],
  });
  assert.equal(terminal.message_type, "result_message", JSON.stringify(terminal));
  assert.equal((terminal.metadata as Record<string, unknown>).turns, 3, "the third run of the conversation");
  const lines = (await readFile(join(stateB, "conversations", "c1.jsonl"), "utf8")).trimEnd().split("\n");
  assert.deepEqual(
    lines.slice(1).flatMap((line) => (JSON.parse(line) as { append: Array<{ prompt: string }> }).append),
    [{ prompt: "fix the failing test" }, { prompt: "now update the changelog" }, { prompt: "and bump the version" }],
  );
  const next = await ask(clientB, { user_prompt: "one more", conversation_id: "c1" });
  assert.equal((next.metadata as Record<string, unknown>).turns, 4);
  await clientB.close();
});
