import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, beforeEach, describe, test } from "node:test";
import type { AgentHandler } from "../../src/handler.js";
import { commands, type Frame, invocation, RawClient, waitFor } from "../support/client.js";
import { startTestServer, type TestServer } from "../support/server.js";
import { readAnswering } from "./support/answering.js";
import { deadUrl, PutSink } from "./support/put-sink.js";

/** Writes the file named by the prompt ("path=content") through the agent's own command tool. */
const writer: AgentHandler = {
  async run(invocation) {
    const [path, content] = invocation.userPrompt.split("=");
    await invocation.runCommand(`printf '%s' '${content}' > '${path}'`);
    return { type: "text", text: "written" };
  },
};

let server: TestServer;
let sink: PutSink;
let dir: string;
before(async () => {
  server = await startTestServer({ handler: writer, artifacts: { settleMs: 50, retries: 1, retryBackoffMs: 10 } });
  sink = await PutSink.start();
});
after(async () => {
  await server.close();
  await sink.close();
});
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "rtu-art-server-"));
  return async () => rm(dir, { recursive: true, force: true });
});

type Entry = { filepath: string; size: number; status: string; error?: string };
const manifestOf = (frame: Frame | undefined): Entry[] => (frame?.artifacts ?? []) as Entry[];
const byType = (frames: Frame[], type: string) => frames.filter((f) => f.message_type === type);

describe("artifacts through the server", () => {
  test("an artifacts directory the runtime cannot create is invalid_field naming it; nothing runs, and the connection serves on", async () => {
    const client = await RawClient.connect(server.url);
    await writeFile(join(dir, "a-file"), "not a directory");
    const blocked = join(dir, "a-file", "out");
    for (const [fields, field] of [
      [{ artifacts_dirs: [join(dir, "fine"), blocked] }, "artifacts_dirs[1]"],
      [{ artifacts_dir: blocked }, "artifacts_dir"],
    ] as const) {
      client.send(commands([`touch ${dir}/ran`], fields));
      const { terminal } = await client.untilTerminal();
      assert.equal(terminal.message_type, "error_message");
      assert.deepEqual(terminal.metadata, { code: "invalid_field", field });
      assert.match(
        String(terminal.error),
        new RegExp(`^${field.replace(/[[\]]/g, "\\$&")}: cannot watch artifacts directory ${blocked}: ENOTDIR`),
      );
    }
    assert.equal(existsSync(join(dir, "ran")), false);
    client.send(commands([`touch ${dir}/ran`], { artifacts_dirs: [join(dir, "fine")] }));
    assert.equal((await client.untilTerminal()).terminal.message_type, "command_execution_result_message");
    assert.equal(existsSync(join(dir, "ran")), true);
    await client.close();
  });

  test("files a command writes are offered before its terminal and the manifest comes with the confirm", async () => {
    const client = await RawClient.connect(server.url);
    client.send(
      commands([`mkdir -p ${dir}/out/sub && printf one > ${dir}/out/a.txt && printf two > ${dir}/out/sub/a.txt`], {
        artifacts_dirs: [`${dir}/out`],
      }),
    );
    const frames = await readAnswering(client, sink, "terminal");
    assert.equal(frames.at(-1)?.message_type, "command_execution_result_message");
    assert.deepEqual(
      byType(frames, "artifact_upload_request_message")
        .map((f) => f.filepath)
        .sort(),
      [`${dir}/out/a.txt`, `${dir}/out/sub/a.txt`],
    );
    client.send({ message_type: "end_session_message" });
    const rest = await readAnswering(client, sink, "end_session_confirm_message");
    assert.deepEqual(byType(rest, "artifact_upload_request_message"), []);
    assert.deepEqual(
      manifestOf(rest.at(-1))
        .map((entry) => JSON.stringify(entry))
        .sort(),
      [
        JSON.stringify({ filepath: `${dir}/out/a.txt`, size: 3, status: "uploaded" }),
        JSON.stringify({ filepath: `${dir}/out/sub/a.txt`, size: 3, status: "uploaded" }),
      ],
    );
    assert.equal(sink.uploadsOf(`${dir}/out/a.txt`)[0]?.body?.toString(), "one");
    assert.equal(sink.uploadsOf(`${dir}/out/sub/a.txt`)[0]?.body?.toString(), "two");
    assert.equal(await client.closed, 1000);
  });

  test("a FIFO made the directory's .artifactignore does not hold the request: its file is offered, the terminal comes", async () => {
    const client = await RawClient.connect(server.url);
    client.send(
      commands([`mkdir -p ${dir}/out && mkfifo ${dir}/out/.artifactignore && printf one > ${dir}/out/a.txt`], {
        artifacts_dirs: [`${dir}/out`],
      }),
    );
    const frames = await readAnswering(client, sink, "terminal");
    assert.equal(frames.at(-1)?.message_type, "command_execution_result_message");
    assert.deepEqual(
      byType(frames, "artifact_upload_request_message").map((f) => f.filepath),
      [`${dir}/out/a.txt`],
    );
    client.send({ message_type: "end_session_message" });
    const rest = await readAnswering(client, sink, "end_session_confirm_message");
    assert.deepEqual(manifestOf(rest.at(-1)), [{ filepath: `${dir}/out/a.txt`, size: 3, status: "uploaded" }]);
    assert.equal(await client.closed, 1000);
  });

  test("a secret in an artifact's path is hidden in the offer, and answering the hidden path uploads the file", async () => {
    const secret = "tok-in-a-file-name-5c1e";
    const client = await RawClient.connect(server.url);
    const raw: string[] = [];
    client.ws.on("message", (data) => raw.push(String(data)));
    client.send(
      commands([`mkdir -p ${dir}/out && printf body > ${dir}/out/report-${secret}.txt`], {
        artifacts_dirs: [`${dir}/out`],
        secrets_to_redact: [secret],
      }),
    );
    const frames = await readAnswering(client, sink, "terminal");
    const hidden = `${dir}/out/report-[REDACTED].txt`;
    assert.deepEqual(
      byType(frames, "artifact_upload_request_message").map((f) => [f.filename, f.filepath]),
      [["report-[REDACTED].txt", hidden]],
    );
    client.send({ message_type: "end_session_message" });
    const rest = await readAnswering(client, sink, "end_session_confirm_message");
    assert.deepEqual(manifestOf(rest.at(-1)), [{ filepath: hidden, size: 4, status: "uploaded" }]);
    assert.equal(sink.uploadsOf(hidden)[0]?.body?.toString(), "body");
    assert.equal(
      raw.some((text) => text.includes(secret)),
      false,
    );
    await client.closed;
  });

  test("end_session right after a command wrote 100 files: all uploaded before the confirm", async () => {
    const client = await RawClient.connect(server.url);
    const out = join(dir, "hundred");
    client.send(
      commands(
        [`mkdir -p ${out}; i=0; while [ $i -lt 100 ]; do printf 'file %d' $i > ${out}/f$i.txt; i=$((i+1)); done`],
        {
          artifacts_dirs: [out],
        },
      ),
    );
    // Up to the terminal only, then end at once: uploads are still running when end_session arrives.
    await readAnswering(client, sink, "terminal");
    client.send({ message_type: "end_session_message" });
    const frames = await readAnswering(client, sink, "end_session_confirm_message");
    const uploadedAtConfirm = Array.from({ length: 100 }, (_, i) => sink.uploadsOf(join(out, `f${i}.txt`)));
    const manifest = manifestOf(frames.at(-1));
    assert.equal(manifest.length, 100);
    assert.ok(manifest.every((entry) => entry.status === "uploaded"));
    uploadedAtConfirm.forEach((uploads, i) => {
      assert.equal(uploads.length, 1, `f${i}.txt uploaded exactly once before the confirm`);
      assert.equal(uploads[0]?.body?.toString(), `file ${i}`);
    });
  });

  test("the deprecated artifacts_dir is merged with artifacts_dirs", async () => {
    const client = await RawClient.connect(server.url);
    client.send(
      commands([`mkdir -p ${dir}/x ${dir}/y && printf x > ${dir}/x/1 && printf y > ${dir}/y/2`], {
        artifacts_dirs: [`${dir}/x`],
        artifacts_dir: `${dir}/y`,
      }),
    );
    const frames = await readAnswering(client, sink, "terminal");
    assert.deepEqual(
      byType(frames, "artifact_upload_request_message")
        .map((f) => f.filepath)
        .sort(),
      [`${dir}/x/1`, `${dir}/y/2`],
    );
    await client.close();
  });

  test("a response naming a path never offered is refused, logged, and the connection stays usable", async () => {
    await writeFile(join(dir, "not-offered.txt"), "private");
    const client = await RawClient.connect(server.url);
    client.send({
      message_type: "artifact_upload_response_message",
      filename: "not-offered.txt",
      filepath: join(dir, "not-offered.txt"),
      presigned_url: sink.urlFor("never"),
      content_type: "text/plain",
    });
    client.send(commands(["echo still here"]));
    const { frames, terminal } = await client.untilTerminal();
    assert.equal(terminal.message_type, "command_execution_result_message");
    assert.deepEqual(byType(frames, "error_message"), []);
    assert.equal(sink.uploadsOf("never").length, 0);
    await waitFor(
      () => server.logs.some((line) => line.includes("this filepath was not offered")),
      10_000,
      "the refusal log",
    );
    await client.close();
  });

  test("a sink that is down: no error_message, the session ends and the manifest says failed", async () => {
    const url = await deadUrl();
    const client = await RawClient.connect(server.url);
    client.send(commands([`printf data > ${dir}/lost.bin`], { artifacts_dirs: [dir] }));
    const frames: Frame[] = [];
    for (;;) {
      const frame = await client.next();
      if (frame.message_type === "heartbeat_message") continue;
      frames.push(frame);
      if (frame.message_type === "artifact_upload_request_message") {
        client.send({
          ...frame,
          message_type: "artifact_upload_response_message",
          presigned_url: url,
          content_type: "x/y",
        });
      }
      if (frame.message_type === "command_execution_result_message") break;
    }
    client.send({ message_type: "end_session_message" });
    const confirm = await client.until("end_session_confirm_message");
    assert.deepEqual(byType([...frames, ...confirm], "error_message"), []);
    const [entry] = manifestOf(confirm.at(-1));
    assert.equal(entry?.status, "failed");
    assert.match(entry?.error ?? "", /ECONNREFUSED/);
  });

  test("a failed command's files are offered before its error_message", async () => {
    const client = await RawClient.connect(server.url);
    client.send(
      invocation({
        artifacts_dirs: [dir],
        pre_agent_invocation_commands: [{ command: `printf 'partial' > ${dir}/crash.log; exit 3` }],
      }),
    );
    const frames = await readAnswering(client, sink, "terminal");
    assert.equal(frames.at(-1)?.message_type, "error_message");
    assert.deepEqual(
      byType(frames, "artifact_upload_request_message").map((f) => f.filepath),
      [join(dir, "crash.log")],
    );
    await client.close();
  });

  test("end_session while a command runs: the request is cancelled and the confirm lists what it wrote", async () => {
    const client = await RawClient.connect(server.url);
    client.send(commands([`printf partial > ${dir}/before-cancel.txt; sleep 30`], { artifacts_dirs: [dir] }));
    await waitFor(() => existsSync(join(dir, "before-cancel.txt")), 20_000, "the file");
    client.send({ message_type: "end_session_message" });
    const frames = await readAnswering(client, sink, "end_session_confirm_message");
    assert.equal(byType(frames, "error_message")[0]?.error, "Request cancelled");
    assert.deepEqual(manifestOf(frames.at(-1)), [
      { filepath: join(dir, "before-cancel.txt"), size: 7, status: "uploaded" },
    ]);
  });

  test("one-shot: the client closes right after the result, and what it answered before is still uploaded", async () => {
    const client = await RawClient.connect(server.url);
    client.send(invocation({ user_prompt: `${dir}/agent.txt=from the agent`, artifacts_dirs: [dir] }));
    const frames = await readAnswering(client, sink, "terminal");
    assert.equal(frames.at(-1)?.message_type, "result_message");
    await client.close();
    await waitFor(() => sink.uploadsOf(join(dir, "agent.txt")).length === 1, 20_000, "the upload after the close");
    assert.equal(sink.uploadsOf(join(dir, "agent.txt"))[0]?.body?.toString(), "from the agent");
  });
});
