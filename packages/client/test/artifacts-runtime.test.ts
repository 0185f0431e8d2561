import assert from "node:assert/strict";
import { mkdtemp, realpath, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, test } from "node:test";
import { PutSink } from "../../runtimeuse/test/artifacts/support/put-sink.js";
import {
  type ArtifactUploadRequest,
  InvalidOptionsError,
  RuntimeUseClient,
  type RuntimeUseSession,
  TimeoutError,
} from "../src/node.js";
import { Q, recordingHandler, waitFor, withRuntime } from "./support/runtime.js";

/*
 * The artifact handshake against the real runtime: its watcher offers files,
 * the client answers with presigned URLs, and the runtime PUTs the bytes to a
 * real HTTP sink on 127.0.0.1.
 */

let dir: string;
let sink: PutSink;
beforeEach(async () => {
  dir = await realpath(await mkdtemp(join(tmpdir(), "ru-client-art-")));
  sink = await PutSink.start();
});
afterEach(async () => {
  await sink.close();
  await rm(dir, { recursive: true, force: true });
});

// Where a test leaves an offer unanswered, responseTimeoutMs keeps the runtime from waiting its default 3 s for it.

/** Writes the file named by the prompt ("path=content"), as an agent would. */
const { handler: writer } = recordingHandler(async (invocation) => {
  const [path, content] = invocation.userPrompt.split("=");
  await writeFile(path ?? "", content ?? "");
  return { type: "text", text: `wrote ${path}` };
});

/** An upload callback pointing every artifact at the sink, recording when it was asked. */
function answering(session?: () => RuntimeUseSession | undefined) {
  const asked: Array<ArtifactUploadRequest & { sessionState: string | undefined }> = [];
  const callback = (request: ArtifactUploadRequest) => {
    asked.push({ ...request, sessionState: session?.()?.state });
    return { presignedUrl: sink.urlFor(request.filename), contentType: "text/plain; charset=utf-8" };
  };
  return { asked, callback };
}

describe("artifacts with the real runtime", () => {
  test("a file the agent writes during a query is offered and answered before the query resolves, then uploaded", async () => {
    // A long settle window: the only offer is the one the runtime makes right before the terminal.
    await withRuntime({ handler: writer, artifacts: { settleMs: 60_000 } }, async ({ url }) => {
      const { asked, callback } = answering();
      const result = await new RuntimeUseClient({ url }).query(`${dir}/out/report.md=# Report`, {
        ...Q,
        artifactsDirs: [`${dir}/out`],
        artifactsIgnoreContent: "*.tmp\n",
        preAgentInvocationCommands: [{ command: `mkdir -p ${dir}/out && printf x > ${dir}/out/scratch.tmp` }],
        onArtifactUploadRequest: callback,
      });
      assert.deepEqual(result.data, { type: "text", text: `wrote ${dir}/out/report.md` });
      // scratch.tmp matches artifactsIgnoreContent, so only the report is offered.
      assert.deepEqual(
        asked.map(({ filename, filepath }) => ({ filename, filepath })),
        [{ filename: "report.md", filepath: `${dir}/out/report.md` }],
      );
      await waitFor(() => sink.uploadsOf("report.md").length === 1, "the runtime to upload the file");
      const [upload] = sink.uploadsOf("report.md");
      assert.equal(upload?.body?.toString(), "# Report");
      assert.equal(upload?.contentType, "text/plain; charset=utf-8");
    });
  });

  test("close() answers the late offers of files written after the last result and returns the manifest", async () => {
    await withRuntime({ handler: writer, artifacts: { settleMs: 60_000 } }, async ({ url }) => {
      let session: RuntimeUseSession | undefined;
      const { asked, callback } = answering(() => session);
      session = await new RuntimeUseClient({ url }).session();
      await session.executeCommands([{ command: `printf early > ${dir}/out/early.txt` }], {
        artifactsDirs: [`${dir}/out`],
        onArtifactUploadRequest: callback,
      });
      // Written after the result: with the long settle window, only the end-of-session rescan offers it.
      await writeFile(join(dir, "out", "late.csv"), "a,b\n1,2\n");
      const closed = await session.close();
      assert.deepEqual(
        asked.map(({ filename, sessionState }) => [filename, sessionState]),
        [
          ["early.txt", "open"],
          ["late.csv", "closing"],
        ],
      );
      assert.deepEqual(
        [...(closed.artifacts ?? [])].sort((a, b) => a.filepath.localeCompare(b.filepath)),
        [
          { filepath: `${dir}/out/early.txt`, size: 5, status: "uploaded" },
          { filepath: `${dir}/out/late.csv`, size: 8, status: "uploaded" },
        ],
      );
      assert.equal(sink.uploadsOf("late.csv")[0]?.body?.toString(), "a,b\n1,2\n");
    });
  });

  test("an idle session answers an offer at once, so the upload happens before any further request or close()", async () => {
    await withRuntime({ handler: writer, artifacts: { settleMs: 60 } }, async ({ url }) => {
      const { asked, callback } = answering();
      await using session = await new RuntimeUseClient({ url }).session({ onArtifactUploadRequest: callback });
      await session.executeCommands([{ command: "true" }], { artifactsDirs: [`${dir}/watched`] });
      await writeFile(join(dir, "watched", "later.log"), "appeared while idle");
      await waitFor(() => sink.uploadsOf("later.log").length === 1, "the idle session's upload");
      assert.deepEqual(
        asked.map((request) => request.filename),
        ["later.log"],
      );
      assert.equal(sink.uploadsOf("later.log")[0]?.body?.toString(), "appeared while idle");
    });
  });

  test("the manifest reports an upload the presigned URL refused as failed, with the reason", async () => {
    const refusing = await PutSink.start({ status: () => 403 });
    try {
      await withRuntime({ handler: writer, artifacts: { settleMs: 60_000, retries: 0 } }, async ({ url }) => {
        const session = await new RuntimeUseClient({ url }).session({
          onArtifactUploadRequest: (request) => ({
            presignedUrl: refusing.urlFor(request.filename),
            contentType: "x/y",
          }),
        });
        await session.query(`${dir}/out/denied.bin=xyz`, { ...Q, artifactsDirs: [`${dir}/out`] });
        const { artifacts } = await session.close();
        assert.equal(artifacts?.length, 1);
        assert.equal(artifacts?.[0]?.filepath, `${dir}/out/denied.bin`);
        assert.equal(artifacts?.[0]?.status, "failed");
        assert.match(artifacts?.[0]?.error ?? "", /403/);
      });
    } finally {
      await refusing.close();
    }
  });

  test("an upload callback that throws cancels the request, is rethrown, and the session carries on", async () => {
    await withRuntime({ handler: writer, artifacts: { settleMs: 60_000, responseTimeoutMs: 200 } }, async ({ url }) => {
      await using session = await new RuntimeUseClient({ url }).session();
      const failure = new Error("cannot presign");
      await assert.rejects(
        session.query(`${dir}/out/a.txt=1`, {
          ...Q,
          artifactsDirs: [`${dir}/out`],
          onArtifactUploadRequest: () => {
            throw failure;
          },
        }),
        (error: unknown) => error === failure,
      );
      const next = await session.executeCommands([{ command: "echo next" }], {
        onArtifactUploadRequest: (request) => ({ presignedUrl: sink.urlFor(request.filename), contentType: "t/t" }),
      });
      assert.equal(next.results[0]?.stdout, "next\n");
    });
  });

  test("an upload callback result without presignedUrl is an InvalidOptionsError naming the field", async () => {
    await withRuntime({ handler: writer, artifacts: { settleMs: 60_000 } }, async ({ url }) => {
      await assert.rejects(
        new RuntimeUseClient({ url }).query(`${dir}/out/a.txt=1`, {
          ...Q,
          artifactsDirs: [`${dir}/out`],
          onArtifactUploadRequest: () => ({ contentType: "text/plain" }) as never,
        }),
        (error: unknown) =>
          error instanceof InvalidOptionsError &&
          error.message === "onArtifactUploadRequest result: presignedUrl: required, expected string",
      );
    });
  });

  test("artifactUploadCallbackTimeout cancels the request when the callback does not return in time", async () => {
    await withRuntime({ handler: writer, artifacts: { settleMs: 60_000 } }, async ({ url }) => {
      await assert.rejects(
        new RuntimeUseClient({ url }).executeCommands(
          [{ command: `mkdir -p ${dir}/out; printf 1 > ${dir}/out/a.txt` }],
          {
            artifactsDirs: [`${dir}/out`],
            artifactUploadCallbackTimeout: 200,
            onArtifactUploadRequest: () => new Promise(() => {}),
          },
        ),
        (error: unknown) =>
          error instanceof TimeoutError && error.which === "artifactUploadCallbackTimeout" && error.timeoutMs === 200,
      );
    });
  });

  test("a callback that throws during close() does not stop the handshake; close() then rejects with its error", async () => {
    await withRuntime({ handler: writer, artifacts: { settleMs: 60_000, responseTimeoutMs: 200 } }, async ({ url }) => {
      const failure = new Error("cannot presign binaries");
      const session = await new RuntimeUseClient({ url }).session({
        onArtifactUploadRequest: (request) => {
          if (request.filename.endsWith(".bin")) throw failure;
          return { presignedUrl: sink.urlFor(request.filename), contentType: "text/csv" };
        },
      });
      await session.executeCommands([{ command: "true" }], { artifactsDirs: [`${dir}/out`] });
      await writeFile(join(dir, "out", "late.bin"), "bin");
      await writeFile(join(dir, "out", "late.csv"), "csv");
      await assert.rejects(session.close(), (error: unknown) => error === failure);
      assert.equal(session.state, "closed");
      assert.equal(sink.uploadsOf("late.csv")[0]?.body?.toString(), "csv");
      assert.deepEqual(sink.uploadsOf("late.bin"), []);
    });
  });
});
