import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  type ArtifactUploadRequest,
  ProtocolViolationError,
  RuntimeUseClient,
  SessionClosedError,
} from "../src/node.js";
import { Q, waitFor } from "./support/runtime.js";
import { expectFrame, type Peer, startScriptedServer } from "./support/scripted-server.js";

/*
 * Cases the real runtime never produces, so a scripted server plays it: a
 * heartbeat and a stray message between requests, and offers on a session
 * that has no callback at all. The
 * handshake itself is tested against the real runtime in artifacts-runtime.
 */

const RESULT = { message_type: "result_message", metadata: {}, data: { type: "text", text: "done" } };
const COMMANDS_RESULT = { message_type: "command_execution_result_message", results: [] };

function offer(peer: Peer, filepath: string) {
  peer.send({ message_type: "artifact_upload_request_message", filename: filepath.split("/").at(-1), filepath });
}

const presign = (request: ArtifactUploadRequest) => ({
  presignedUrl: `https://uploads.example/${request.filename}?sig=1`,
  contentType: "text/markdown",
});

describe("the artifact handshake, with what only a scripted runtime sends", () => {
  test("between requests, an idle session answers artifact offers at once and drops heartbeats", async () => {
    let answeredWhileIdle: Record<string, unknown> | undefined;
    const server = await startScriptedServer(async (peer) => {
      await expectFrame(peer, "command_execution_message");
      peer.send(COMMANDS_RESULT);
      // The session is idle now: no request, no close.
      peer.send({ message_type: "heartbeat_message", phase: "agent", elapsed_ms: 5 });
      offer(peer, "/out/after-terminal.md");
      answeredWhileIdle = await expectFrame(peer, "artifact_upload_response_message");
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
      const heartbeats: unknown[] = [];
      await session.query("next", { ...Q, onHeartbeat: (event) => void heartbeats.push(event) });
      assert.deepEqual(heartbeats, [], "the idle heartbeat did not reach the next request");
      assert.deepEqual(await session.close(), { artifacts: [] });
    } finally {
      await server.close();
    }
  });

  test("a message other than an offer or a heartbeat between requests ends the session with unexpected_message", async () => {
    const server = await startScriptedServer(async (peer) => {
      await expectFrame(peer, "command_execution_message");
      peer.send(COMMANDS_RESULT);
      peer.send({ message_type: "assistant_message", text_blocks: ["stray, belongs to no request"] });
    });
    try {
      const session = await new RuntimeUseClient({ url: server.url }).session();
      await session.executeCommands([{ command: "true" }]);
      assert.equal(await (await server.peer(0)).closed, 1000, "the client closed the connection");
      await assert.rejects(session.query("next", Q), (error: unknown) => {
        assert.ok(error instanceof SessionClosedError);
        assert.ok(error.cause instanceof ProtocolViolationError);
        assert.equal(error.cause.code, "unexpected_message");
        assert.match(error.cause.message, /assistant_message while no request was in flight/);
        return true;
      });
      assert.deepEqual(await session.close(), { artifacts: undefined });
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
