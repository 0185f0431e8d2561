import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { type ArtifactUploadRequest, RuntimeUseClient } from "../src/node.js";
import { Q, waitFor } from "./support/runtime.js";
import { expectFrame, type Peer, startScriptedServer } from "./support/scripted-server.js";

/*
 * Cases the real runtime never produces, so a scripted server plays it: a
 * stray message between requests (to check the idle session puts back what
 * it does not own), and offers on a session that has no callback at all. The
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
