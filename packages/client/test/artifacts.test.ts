import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { type ArtifactUploadRequest, InvalidOptionsError, RuntimeUseClient, TimeoutError } from "../src/node.js";
import { Q, waitFor } from "./support/runtime.js";
import { expectFrame, type Peer, startScriptedServer } from "./support/scripted-server.js";

/*
 * The runtime's artifact watcher is not in this repository yet, so these
 * tests script the runtime's side of the handshake (PROTOCOL.md "Artifacts"
 * and "Persistent sessions") on a real WebSocket server.
 */

const RESULT = { message_type: "result_message", metadata: {}, data: { type: "text", text: "done" } };
const COMMANDS_RESULT = { message_type: "command_execution_result_message", results: [] };
const MANIFEST = [
  { filepath: "/out/report.md", size: 120, status: "uploaded" },
  { filepath: "/out/late.csv", size: 9, status: "uploaded" },
  { filepath: "/out/broken.bin", size: 3, status: "failed", error: "PUT returned 500" },
];

function offer(peer: Peer, filepath: string) {
  peer.send({ message_type: "artifact_upload_request_message", filename: filepath.split("/").at(-1), filepath });
}

const presign = (request: ArtifactUploadRequest) => ({
  presignedUrl: `https://uploads.example/${request.filename}?sig=1`,
  contentType: request.filename.endsWith(".md") ? "text/markdown" : "text/csv",
});

describe("the artifact handshake", () => {
  test("during a request each artifact request is answered with the callback's URL and content type, before the result", async () => {
    const frames: Record<string, unknown>[] = [];
    const server = await startScriptedServer(async (peer) => {
      frames.push(await expectFrame(peer, "invocation_message"));
      offer(peer, "/out/report.md");
      frames.push(await expectFrame(peer, "artifact_upload_response_message"));
      peer.send(RESULT);
    });
    try {
      const asked: ArtifactUploadRequest[] = [];
      const result = await new RuntimeUseClient({ url: server.url }).query("write a report", {
        ...Q,
        artifactsDirs: ["/out"],
        artifactsIgnoreContent: "*.tmp\n",
        onArtifactUploadRequest: async (request) => {
          asked.push(request);
          return presign(request);
        },
      });
      assert.deepEqual(result.data, { type: "text", text: "done" });
      assert.deepEqual(asked, [{ filename: "report.md", filepath: "/out/report.md" }]);
      assert.deepEqual(frames[0]?.artifacts_dirs, ["/out"]);
      assert.equal(frames[0]?.artifacts_ignore_content, "*.tmp\n");
      assert.deepEqual(frames[1], {
        message_type: "artifact_upload_response_message",
        filename: "report.md",
        filepath: "/out/report.md",
        presigned_url: "https://uploads.example/report.md?sig=1",
        content_type: "text/markdown",
      });
    } finally {
      await server.close();
    }
  });

  test("close() answers late artifact requests with the session's last callback and returns the runtime's manifest", async () => {
    const answered: Record<string, unknown>[] = [];
    const server = await startScriptedServer(async (peer) => {
      await expectFrame(peer, "command_execution_message");
      peer.send(COMMANDS_RESULT);
      await expectFrame(peer, "end_session_message");
      peer.send({ message_type: "heartbeat_message", phase: "offering_artifacts", elapsed_ms: 3 });
      offer(peer, "/out/late.csv");
      offer(peer, "/out/broken.bin");
      answered.push(await expectFrame(peer, "artifact_upload_response_message"));
      answered.push(await expectFrame(peer, "artifact_upload_response_message"));
      peer.send({ message_type: "end_session_confirm_message", artifacts: MANIFEST });
      peer.close(1000, "session ended");
    });
    try {
      const session = await new RuntimeUseClient({ url: server.url }).session();
      await session.executeCommands([{ command: "make" }], {
        artifactsDirs: ["/out"],
        onArtifactUploadRequest: presign,
      });
      const closed = await session.close();
      assert.deepEqual(closed, { artifacts: MANIFEST });
      assert.deepEqual(
        answered.map((frame) => [frame.filepath, frame.presigned_url]),
        [
          ["/out/late.csv", "https://uploads.example/late.csv?sig=1"],
          ["/out/broken.bin", "https://uploads.example/broken.bin?sig=1"],
        ],
      );
    } finally {
      await server.close();
    }
  });

  test("the session's onArtifactUploadRequest answers requests of calls without a callback, and late ones", async () => {
    const server = await startScriptedServer(async (peer) => {
      await expectFrame(peer, "invocation_message");
      offer(peer, "/out/report.md");
      await expectFrame(peer, "artifact_upload_response_message");
      peer.send(RESULT);
      await expectFrame(peer, "end_session_message");
      offer(peer, "/out/late.csv");
      await expectFrame(peer, "artifact_upload_response_message");
      peer.send({ message_type: "end_session_confirm_message" });
    });
    try {
      const asked: string[] = [];
      const session = await new RuntimeUseClient({ url: server.url }).session({
        onArtifactUploadRequest: (request) => {
          asked.push(request.filepath);
          return presign(request);
        },
      });
      await session.query("go", { ...Q, artifactsDirs: ["/out"] });
      assert.deepEqual(await session.close(), { artifacts: undefined });
      assert.deepEqual(asked, ["/out/report.md", "/out/late.csv"]);
    } finally {
      await server.close();
    }
  });

  test("between requests, an idle session answers artifact offers at once, and leaves other messages for the next request", async () => {
    let answeredWhileIdle: Record<string, unknown> | undefined;
    const server = await startScriptedServer(async (peer) => {
      await expectFrame(peer, "command_execution_message");
      peer.send(COMMANDS_RESULT);
      // The session is idle now: no request, no close.
      offer(peer, "/out/after-terminal.md");
      answeredWhileIdle = await expectFrame(peer, "artifact_upload_response_message");
      peer.send({ message_type: "assistant_message", text_blocks: ["stray, for the next reader"] });
      await expectFrame(peer, "invocation_message");
      peer.send(RESULT);
      await expectFrame(peer, "end_session_message");
      peer.send({ message_type: "end_session_confirm_message", artifacts: [] });
    });
    try {
      const session = await new RuntimeUseClient({ url: server.url }).session();
      await session.executeCommands([{ command: "make" }], {
        artifactsDirs: ["/out"],
        onArtifactUploadRequest: presign,
      });
      await waitFor(() => answeredWhileIdle !== undefined, "the idle session to answer the offer");
      assert.equal(answeredWhileIdle?.presigned_url, "https://uploads.example/after-terminal.md?sig=1");
      const assistant: string[] = [];
      await session.query("next", { ...Q, onAssistantMessage: (event) => void assistant.push(...event.textBlocks) });
      assert.deepEqual(assistant, ["stray, for the next reader"]);
      assert.deepEqual(await session.close(), { artifacts: [] });
    } finally {
      await server.close();
    }
  });

  test("an artifact callback that throws cancels the request and its error is rethrown once the runtime ends it", async () => {
    const seen: string[] = [];
    const server = await startScriptedServer(async (peer) => {
      await expectFrame(peer, "invocation_message");
      offer(peer, "/out/report.md");
      seen.push(String((await peer.next()).message_type));
      peer.send({ message_type: "error_message", error: "Request cancelled", metadata: { code: "cancelled" } });
    });
    try {
      const failure = new Error("presigning failed");
      await assert.rejects(
        new RuntimeUseClient({ url: server.url }).query("go", {
          ...Q,
          artifactsDirs: ["/out"],
          onArtifactUploadRequest: () => {
            throw failure;
          },
        }),
        (error: unknown) => error === failure,
      );
      assert.deepEqual(seen, ["cancel_message"]);
    } finally {
      await server.close();
    }
  });

  test("a callback result without presignedUrl is an InvalidOptionsError naming the field", async () => {
    const server = await startScriptedServer(async (peer) => {
      await expectFrame(peer, "invocation_message");
      offer(peer, "/out/report.md");
      await expectFrame(peer, "cancel_message");
      peer.send({ message_type: "error_message", error: "Request cancelled", metadata: {} });
    });
    try {
      await assert.rejects(
        new RuntimeUseClient({ url: server.url }).query("go", {
          ...Q,
          artifactsDirs: ["/out"],
          onArtifactUploadRequest: () => ({ contentType: "text/plain" }) as never,
        }),
        (error: unknown) =>
          error instanceof InvalidOptionsError &&
          error.message === "onArtifactUploadRequest result: presignedUrl: required, expected string",
      );
    } finally {
      await server.close();
    }
  });

  test("artifactUploadCallbackTimeout cancels the request when the callback does not return in time", async () => {
    const server = await startScriptedServer(async (peer) => {
      await expectFrame(peer, "command_execution_message");
      offer(peer, "/out/report.md");
      await expectFrame(peer, "cancel_message");
      peer.send({ message_type: "error_message", error: "Request cancelled", metadata: {} });
    });
    try {
      await assert.rejects(
        new RuntimeUseClient({ url: server.url }).executeCommands([{ command: "make" }], {
          artifactsDirs: ["/out"],
          artifactUploadCallbackTimeout: 200,
          onArtifactUploadRequest: () => new Promise(() => {}),
        }),
        (error: unknown) => error instanceof TimeoutError && error.which === "artifactUploadCallbackTimeout",
      );
    } finally {
      await server.close();
    }
  });

  test("a callback that throws during close() does not stop the handshake; close() then rejects with its error", async () => {
    const answered: unknown[] = [];
    const server = await startScriptedServer(async (peer) => {
      await expectFrame(peer, "end_session_message");
      offer(peer, "/out/broken.bin");
      offer(peer, "/out/late.csv");
      answered.push((await expectFrame(peer, "artifact_upload_response_message")).filepath);
      peer.send({ message_type: "end_session_confirm_message", artifacts: MANIFEST });
    });
    try {
      const failure = new Error("cannot presign binaries");
      const session = await new RuntimeUseClient({ url: server.url }).session({
        onArtifactUploadRequest: (request) => {
          if (request.filename.endsWith(".bin")) throw failure;
          return presign(request);
        },
      });
      await assert.rejects(session.close(), (error: unknown) => error === failure);
      assert.deepEqual(answered, ["/out/late.csv"]);
      assert.equal(session.state, "closed");
    } finally {
      await server.close();
    }
  });

  test("with no callback anywhere, artifact requests are left unanswered and the request still completes", async () => {
    const server = await startScriptedServer(async (peer) => {
      await expectFrame(peer, "command_execution_message");
      offer(peer, "/out/stray.txt");
      peer.send(COMMANDS_RESULT);
      // The next frame must be the end of the session, not an answer to the stray artifact.
      await expectFrame(peer, "end_session_message");
      peer.send({ message_type: "end_session_confirm_message", artifacts: [] });
    });
    try {
      const session = await new RuntimeUseClient({ url: server.url }).session();
      assert.deepEqual(await session.executeCommands([{ command: "true" }]), { results: [] });
      assert.deepEqual(await session.close(), { artifacts: [] });
    } finally {
      await server.close();
    }
  });
});
