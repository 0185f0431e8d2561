import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { WebSocket } from "ws";
import {
  ConnectionError,
  ProtocolViolationError,
  RuntimeUseClient,
  SessionClosedError,
  type StandardWebSocketConstructor,
  StandardWebSocketTransport,
} from "../src/node.js";
import { Q } from "./support/runtime.js";
import { expectFrame, type Peer, startScriptedServer } from "./support/scripted-server.js";

/** A server that answers the first request with `reply` (after one valid assistant message). */
async function replying(reply: (peer: Peer) => void) {
  return startScriptedServer(async (peer) => {
    await peer.next();
    peer.send({ message_type: "assistant_message", text_blocks: ["valid before"] });
    reply(peer);
  });
}

async function violation(
  reply: (peer: Peer) => void,
  check: (error: ProtocolViolationError) => void,
  request: "query" | "commands" = "query",
) {
  const server = await replying(reply);
  try {
    const assistant: string[][] = [];
    const client = new RuntimeUseClient({ url: server.url });
    const call =
      request === "query"
        ? client.query("go", { ...Q, onAssistantMessage: (e) => void assistant.push(e.textBlocks) })
        : client.executeCommands([{ command: "true" }]);
    await assert.rejects(call, (error: unknown) => {
      assert.ok(error instanceof ProtocolViolationError, `expected a ProtocolViolationError, got ${String(error)}`);
      check(error);
      return true;
    });
    if (request === "query") assert.deepEqual(assistant, [["valid before"]], "frames before the bad one were handled");
    assert.equal(await (await server.peer(0)).closed, 1000, "the client closed the connection");
  } finally {
    await server.close();
  }
}

describe("a runtime that sends malformed frames", () => {
  test("a frame that is not JSON is a ProtocolViolationError invalid_json carrying the start of the frame", async () => {
    await violation(
      (peer) => peer.sendRaw("this is {not json"),
      (error) => {
        assert.equal(error.code, "invalid_json");
        assert.equal(error.frame, "this is {not json");
        assert.match(error.message, /^the runtime sent a malformed frame: frame is not valid JSON/);
      },
    );
  });

  test("an unknown message_type is a ProtocolViolationError unknown_message_type", async () => {
    await violation(
      (peer) => peer.send({ message_type: "progress_message", percent: 50 }),
      (error) => {
        assert.equal(error.code, "unknown_message_type");
        assert.equal(error.field, "message_type");
        assert.match(error.message, /unknown runtime message type "progress_message"/);
      },
    );
  });

  test("a field of the wrong type is a ProtocolViolationError invalid_field naming the field", async () => {
    await violation(
      (peer) => peer.send({ message_type: "assistant_message", text_blocks: "not a list" }),
      (error) => {
        assert.equal(error.code, "invalid_field");
        assert.equal(error.field, "text_blocks");
        assert.match(error.message, /assistant_message: text_blocks: expected array, received string/);
      },
    );
    await violation(
      (peer) => peer.send({ message_type: "heartbeat_message", phase: "agent", elapsed_ms: 1.5 }),
      (error) => assert.equal(error.field, "elapsed_ms"),
    );
    await violation(
      (peer) => peer.send({ message_type: "result_message", data: { type: "text" } }),
      (error) => assert.equal(error.field, "data.text"),
    );
  });

  test("a binary frame is a ProtocolViolationError binary_frame", async () => {
    await violation(
      (peer) => peer.sendRaw(Buffer.from([1, 2, 3]), true),
      (error) => {
        assert.equal(error.code, "binary_frame");
        assert.match(error.message, /binary frame \(3 bytes\)/);
      },
    );
  });

  test("a terminal of the other request kind, or an end-session confirm mid-request, is a ProtocolViolationError", async () => {
    await violation(
      (peer) => peer.send({ message_type: "result_message", metadata: {}, data: { type: "text", text: "x" } }),
      (error) => {
        assert.equal(error.code, "unexpected_message");
        assert.equal(error.message, "the runtime sent result_message in answer to command_execution_message");
      },
      "commands",
    );
    await violation(
      (peer) => peer.send({ message_type: "end_session_confirm_message" }),
      (error) => assert.match(error.message, /end_session_confirm_message while a request was in flight/),
    );
  });

  test("a frame over maxFrameBytes is a ProtocolViolationError frame_too_large with either transport", async () => {
    const big = { message_type: "assistant_message", text_blocks: ["x".repeat(4096)] };
    const server = await replying((peer) => peer.send(big));
    const standard = await replying((peer) => peer.send(big));
    try {
      await assert.rejects(
        new RuntimeUseClient({ url: server.url, maxFrameBytes: 1024 }).query("go", Q),
        (error: unknown) =>
          error instanceof ProtocolViolationError &&
          error.code === "frame_too_large" &&
          error.message === "the runtime sent a frame larger than maxFrameBytes (1024)",
      );
      const transport = new StandardWebSocketTransport({
        WebSocket: WebSocket as unknown as StandardWebSocketConstructor,
      });
      await assert.rejects(
        new RuntimeUseClient({ url: standard.url, maxFrameBytes: 1024, transport }).query("go", Q),
        (error: unknown) => error instanceof ProtocolViolationError && error.code === "frame_too_large",
      );
    } finally {
      await server.close();
      await standard.close();
    }
  });

  test("in a session, a malformed frame ends the session: later calls get SessionClosedError and close() resolves", async () => {
    const server = await replying((peer) => peer.sendRaw("}"));
    try {
      const session = await new RuntimeUseClient({ url: server.url }).session();
      await assert.rejects(session.query("go", Q), ProtocolViolationError);
      assert.equal(session.state, "closed");
      await assert.rejects(session.executeCommands([{ command: "true" }]), (error: unknown) => {
        assert.ok(error instanceof SessionClosedError);
        assert.ok(error.cause instanceof ProtocolViolationError);
        assert.match(error.message, /the session's connection has ended \(the runtime sent a malformed frame/);
        return true;
      });
      // The problem was already reported to the caller once; close() does not throw it again.
      assert.deepEqual(await session.close(), { artifacts: undefined });
    } finally {
      await server.close();
    }
  });

  test("a connection closed mid-request rejects with ConnectionError carrying the close code and reason", async () => {
    const server = await startScriptedServer(async (peer) => {
      await expectFrame(peer, "command_execution_message");
      peer.close(4000, "sandbox shutting down");
    });
    try {
      await assert.rejects(
        new RuntimeUseClient({ url: server.url }).executeCommands([{ command: "true" }]),
        (error: unknown) => {
          assert.ok(error instanceof ConnectionError);
          assert.equal(error.closeCode, 4000);
          assert.equal(error.closeReason, "sandbox shutting down");
          assert.match(error.message, /closed \(code 4000: sandbox shutting down\)/);
          return true;
        },
      );
    } finally {
      await server.close();
    }
  });
});
