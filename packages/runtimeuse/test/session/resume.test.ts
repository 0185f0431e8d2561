import assert from "node:assert/strict";
import { EventEmitter } from "node:events";
import { describe, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import type { WebSocket } from "ws";
import type { AgentHandlerFunction } from "../../src/handler.js";
import { ReplayBuffer } from "../../src/session/replay-buffer.js";
import { WebSocketSession } from "../../src/session/websocket-session.js";

// The resume rules without any network: the session is driven through
// in-memory sockets that record every frame written to them.

/** An in-memory stand-in for a `ws` socket: frames written land in `frames`. */
class MemorySocket extends EventEmitter {
  readonly OPEN = 1;
  readyState = 1;
  bufferedAmount = 0;
  readonly frames: Record<string, unknown>[] = [];
  closeCode: number | undefined;

  /** As `ws`'s `send(data, options?, callback?)`: a numbered frame arrives as its bytes. */
  send(data: string | Buffer, options?: object | ((error?: Error) => void), callback?: (error?: Error) => void): void {
    this.frames.push(JSON.parse(String(data)) as Record<string, unknown>);
    (typeof options === "function" ? options : callback)?.();
  }

  /** The runtime closed this socket. */
  close(code = 1000): void {
    if (this.readyState !== 1) return;
    this.readyState = 3;
    this.closeCode = code;
    setImmediate(() => this.emit("close", code, Buffer.alloc(0)));
  }

  terminate(): void {
    this.close(1006);
  }

  ping(): void {}

  /** The client sends a frame. */
  deliver(frame: Record<string, unknown>): void {
    this.emit("message", Buffer.from(JSON.stringify(frame)), false);
  }

  /** The connection is lost (no close frame), as the runtime sees it. */
  drop(): void {
    this.readyState = 3;
    this.emit("close", 1006, Buffer.alloc(0));
  }

  ofType(type: string): Record<string, unknown>[] {
    return this.frames.filter((frame) => frame.message_type === type);
  }
}

const asWs = (socket: MemorySocket) => socket as unknown as WebSocket;

function open(handler: AgentHandlerFunction, options: { graceMs?: number; replayBufferBytes?: number } = {}) {
  const socket = new MemorySocket();
  const session = new WebSocketSession(asWs(socket), {
    handler,
    resumeGraceMs: options.graceMs ?? 10_000,
    ...(options.replayBufferBytes === undefined ? {} : { replayBufferBytes: options.replayBufferBytes }),
  });
  const hello = socket.frames[0] as { message_type: string; session_id: string; resume_secret: string };
  return { socket, session, hello };
}

const invocation = (seq: number) => ({
  message_type: "invocation_message",
  system_prompt: "s",
  user_prompt: "u",
  model: "m",
  seq,
});

/** A handler that runs until its request is aborted; `aborted` says whether it was. */
function untilAborted() {
  const state = {
    aborted: false,
    handler: ((invocation) =>
      new Promise((resolve) => {
        invocation.signal.addEventListener("abort", () => {
          state.aborted = true;
          resolve({ type: "text", text: "stopped" });
        });
      })) as AgentHandlerFunction,
  };
  return state;
}

async function until(condition: () => boolean, what: string, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(2);
  }
}

describe("replay buffer", () => {
  test("numbers frames from 1 and replays those after last_seq, in order, with their seq", () => {
    const buffer = new ReplayBuffer(1024 * 1024);
    for (let i = 1; i <= 5; i++) buffer.record({ message_type: "assistant_message", text_blocks: [`m${i}`] });
    const replay = buffer.framesAfter(2);
    assert.ok(replay.ok);
    assert.deepEqual(
      replay.frames.map((frame) => JSON.parse(String(frame))),
      [3, 4, 5].map((seq) => ({ message_type: "assistant_message", text_blocks: [`m${seq}`], seq })),
    );
  });

  test("an ack lets acknowledged frames go and frees their bytes", () => {
    const buffer = new ReplayBuffer(1024 * 1024);
    for (let i = 0; i < 4; i++) buffer.record({ message_type: "heartbeat_message", phase: "agent", elapsed_ms: i });
    const before = buffer.bytes;
    assert.equal(buffer.ack(3), true);
    assert.ok(buffer.bytes < before / 2);
    const replay = buffer.framesAfter(3);
    assert.ok(replay.ok);
    assert.deepEqual(
      replay.frames.map((frame) => (JSON.parse(String(frame)) as { seq: number }).seq),
      [4],
    );
  });

  test("overflow drops the oldest frames and a resume that needs them gets the gap", () => {
    const buffer = new ReplayBuffer(2000);
    for (let i = 0; i < 100; i++) buffer.record({ message_type: "assistant_message", text_blocks: ["x".repeat(50)] });
    assert.ok(buffer.bytes <= 2000);
    const gap = buffer.framesAfter(0);
    assert.equal(gap.ok, false);
    // A client that already has everything dropped is still served.
    const fine = buffer.framesAfter(99);
    assert.ok(fine.ok);
    assert.equal(fine.frames.length, 1);
  });

  test("frames let go after a claim to have them are a gap when asked for again, never a replay with a hole", () => {
    const buffer = new ReplayBuffer(1024 * 1024);
    for (let i = 1; i <= 5; i++) buffer.record({ message_type: "assistant_message", text_blocks: [`m${i}`] });
    // A resume claiming frames never sent counts as having all of them.
    const future = buffer.framesAfter(1_000_000);
    assert.ok(future.ok);
    assert.equal(future.frames.length, 0);
    for (let i = 6; i <= 8; i++) buffer.record({ message_type: "assistant_message", text_blocks: [`m${i}`] });
    // The honest resume after it needs 3..5, which went with that claim.
    assert.deepEqual(buffer.framesAfter(2), { ok: false, droppedThrough: 5 });
    // Whoever has 5 still gets 6..8.
    const rest = buffer.framesAfter(5);
    assert.ok(rest.ok);
    assert.deepEqual(
      rest.frames.map((frame) => (JSON.parse(String(frame)) as { seq: number }).seq),
      [6, 7, 8],
    );
    // The same after an ack: asking again for acknowledged frames is a gap.
    buffer.ack(7);
    assert.deepEqual(buffer.framesAfter(6), { ok: false, droppedThrough: 7 });
    // Nothing sent after last_seq: nothing is missing.
    assert.ok(buffer.framesAfter(8).ok);
  });

  test("frames with multi-byte text and frames larger than a block replay byte for byte, in order", () => {
    const buffer = new ReplayBuffer(1024 * 1024);
    const texts = ["grüße, 世界 🚀", "y".repeat(40_000), "", "é".repeat(9_000), "small"];
    const sent = texts.map((text) => buffer.record({ message_type: "assistant_message", text_blocks: [text] }));
    const replay = buffer.framesAfter(0);
    assert.ok(replay.ok);
    assert.deepEqual(
      replay.frames.map((frame) => JSON.parse(frame.toString("utf8"))),
      texts.map((text, i) => ({ message_type: "assistant_message", text_blocks: [text], seq: i + 1 })),
    );
    assert.deepEqual(replay.frames, sent);
    assert.equal(
      buffer.bytes,
      sent.reduce((total, frame) => total + frame.length, 0),
    );
  });

  test("acks anywhere in the stream free exactly the acknowledged frames' bytes", () => {
    const buffer = new ReplayBuffer(64 * 1024 * 1024);
    const sizes: number[] = [];
    for (let i = 1; i <= 3000; i++) {
      sizes.push(
        buffer.record({ message_type: "assistant_message", text_blocks: [`m${i} ${"z".repeat(i % 300)}`] }).length,
      );
    }
    for (const acked of [1, 2, 117, 118, 1500, 2999]) {
      buffer.ack(acked);
      const left = sizes.slice(acked).reduce((total, size) => total + size, 0);
      assert.equal(buffer.bytes, left, `bytes kept after an ack of ${acked}`);
      const replay = buffer.framesAfter(acked);
      assert.ok(replay.ok);
      assert.deepEqual(
        replay.frames.map((frame) => (JSON.parse(frame.toString("utf8")) as { seq: number }).seq),
        Array.from({ length: 3000 - acked }, (_, i) => acked + 1 + i),
      );
    }
    buffer.ack(3000);
    assert.equal(buffer.bytes, 0);
    buffer.record({ message_type: "assistant_message", text_blocks: ["after"] });
    const replay = buffer.framesAfter(3000);
    assert.ok(replay.ok);
    assert.deepEqual(
      replay.frames.map((frame) => JSON.parse(frame.toString("utf8"))),
      [{ message_type: "assistant_message", text_blocks: ["after"], seq: 3001 }],
    );
  });

  test("producers are held once half the buffer is in use", () => {
    const buffer = new ReplayBuffer(1000);
    buffer.record({ message_type: "assistant_message", text_blocks: ["x".repeat(400)] });
    assert.equal(buffer.holding, false);
    buffer.record({ message_type: "assistant_message", text_blocks: ["x".repeat(100)] });
    assert.equal(buffer.holding, true);
  });
});

describe("resumable session", () => {
  test("the first frame announces the session, and every other frame is numbered", async () => {
    const { socket, session, hello } = open(async (_invocation, sender) => {
      await sender.sendAssistantMessage(["hi"]);
      return { type: "text", text: "done" };
    });
    assert.equal(hello.message_type, "session_message");
    assert.match(hello.session_id, /^[\w-]{20,}$/);
    assert.ok(Buffer.from(hello.resume_secret, "base64url").length >= 16, "the secret has at least 128 bits");
    socket.deliver(invocation(1));
    await until(() => socket.ofType("result_message").length === 1, "the result");
    assert.deepEqual(
      socket.frames.filter((frame) => "seq" in frame && frame.message_type !== "ack_message").map((f) => f.seq),
      [1, 2],
    );
    await until(() => socket.ofType("ack_message").length === 1, "the lazy ack");
    assert.deepEqual(socket.ofType("ack_message"), [{ message_type: "ack_message", seq: 1 }]);
    socket.deliver({ message_type: "end_session_message", seq: 2 });
    await session.done();
  });

  test("frames sent while detached are replayed after last_seq, in order, exactly once, then live ones follow", async () => {
    let gate!: () => void;
    const opened = new Promise<void>((resolve) => {
      gate = resolve;
    });
    const { socket, session, hello } = open(async (_invocation, sender) => {
      for (let i = 1; i <= 3; i++) await sender.sendAssistantMessage([`m${i}`]);
      await opened;
      for (let i = 4; i <= 8; i++) await sender.sendAssistantMessage([`m${i}`]);
      return { type: "text", text: "done" };
    });
    socket.deliver(invocation(1));
    await until(() => socket.ofType("assistant_message").length === 3, "three messages");
    // The client processed only the first two before the drop.
    socket.drop();
    gate();
    await sleep(20);
    assert.equal(session.ended, false, "the session outlives its connection");
    const next = new MemorySocket();
    assert.ok(session.verifyResume(hello.resume_secret));
    assert.equal(session.verifyResume("not-the-secret"), false);
    assert.equal(session.resume(asWs(next), 2), true);
    await until(() => next.ofType("result_message").length === 1, "the result after the resume");
    assert.deepEqual(next.frames[0], {
      message_type: "resumed_message",
      session_id: hello.session_id,
      last_client_seq: 1,
    });
    const texts = next.ofType("assistant_message").map((frame) => (frame.text_blocks as string[])[0]);
    assert.deepEqual(texts, ["m3", "m4", "m5", "m6", "m7", "m8"]);
    const seqs = next.frames.slice(1).map((frame) => frame.seq);
    assert.deepEqual(seqs, [3, 4, 5, 6, 7, 8, 9]);
    next.deliver({ message_type: "end_session_message", seq: 2 });
    await session.done();
  });

  test("a client message re-sent after a resume is acknowledged and not executed again", async () => {
    let runs = 0;
    const { socket, session, hello } = open(async () => {
      runs++;
      return { type: "text", text: "done" };
    });
    socket.deliver(invocation(1));
    await until(() => socket.ofType("result_message").length === 1, "the result");
    socket.drop();
    const next = new MemorySocket();
    assert.ok(session.verifyResume(hello.resume_secret));
    session.resume(asWs(next), 0);
    // The client did not see the runtime's ack, so it sends its request again.
    next.deliver(invocation(1));
    await sleep(30);
    assert.equal(runs, 1);
    assert.deepEqual(next.ofType("ack_message"), [{ message_type: "ack_message", seq: 1 }]);
    assert.equal(next.ofType("result_message").length, 1, "the one result is replayed, not produced again");
    next.deliver({ message_type: "end_session_message", seq: 2 });
    await session.done();
  });

  test("when the grace window passes without a resume the request is cancelled and the session ends", async () => {
    const waiting = untilAborted();
    const { socket, session } = open(waiting.handler, { graceMs: 80 });
    socket.deliver(invocation(1));
    await sleep(10);
    socket.drop();
    await sleep(40);
    assert.equal(waiting.aborted, false, "still running inside the window");
    await session.done();
    assert.equal(waiting.aborted, true);
    assert.equal(session.ended, true);
    assert.equal(session.resume(asWs(new MemorySocket()), 0), false, "an ended session cannot be resumed");
  });

  test("the newest connection wins: an older one still open is closed with 4001", async () => {
    const { socket, session } = open(async () => ({ type: "text", text: "done" }));
    const newer = new MemorySocket();
    assert.equal(session.resume(asWs(newer), 0), true);
    assert.equal(socket.closeCode, 4001);
    await sleep(10);
    assert.equal(session.ended, false, "the old socket's close does not end the session");
    newer.deliver(invocation(1));
    await until(() => newer.ofType("result_message").length === 1, "the result on the newer connection");
    assert.equal(socket.ofType("result_message").length, 0);
    newer.deliver({ message_type: "end_session_message", seq: 2 });
    await session.done();
  });

  test("a resume that needs frames dropped from a full buffer is refused with 4002 replay_gap and the session ends", async () => {
    let aborted = false;
    const { socket, session } = open(
      async (invocation, sender) => {
        // A producer that does not wait for the outbox.
        for (let i = 0; i < 200; i++) void sender.sendAssistantMessage(["y".repeat(100)]);
        await new Promise((resolve) => invocation.signal.addEventListener("abort", resolve));
        aborted = true;
        return { type: "text", text: "stopped" };
      },
      { replayBufferBytes: 4096 },
    );
    socket.deliver(invocation(1));
    await until(() => socket.ofType("assistant_message").length === 200, "the burst");
    socket.drop();
    const next = new MemorySocket();
    assert.equal(session.resume(asWs(next), 1), false);
    assert.equal(next.closeCode, 4002);
    await session.done();
    assert.equal(aborted, true);
  });

  test("a close with 1000 from the client ends the session at once", async () => {
    const waiting = untilAborted();
    const { socket, session } = open(waiting.handler, { graceMs: 60_000 });
    socket.deliver(invocation(1));
    await sleep(10);
    socket.readyState = 3;
    socket.emit("close", 1000, Buffer.alloc(0));
    await session.done();
    assert.equal(waiting.aborted, true);
  });

  test("command output pauses while the client is away and the buffer is half full, losing nothing", async () => {
    const { socket, session, hello } = open(
      async (invocation) => {
        const outcome = await invocation.runCommand(
          "node -e \"for (let i = 0; i < 200000; i++) process.stdout.write(String(i).padStart(8, '0') + '\\n')\"",
        );
        return { type: "text", text: String(outcome.exitCode) };
      },
      { replayBufferBytes: 1024 * 1024 },
    );
    socket.deliver(invocation(1));
    await until(() => socket.ofType("command_output_message").length > 0, "some output");
    socket.drop();
    await sleep(300);
    assert.equal(session.requestInFlight, true, "the command is held, not finished, while the buffer is full");
    const next = new MemorySocket();
    assert.ok(session.verifyResume(hello.resume_secret));
    // Keep acknowledging what arrives, as a client does.
    const originalSend = next.send.bind(next);
    next.send = (text: string, callback?: (error?: Error) => void) => {
      originalSend(text, callback);
      const seq = (JSON.parse(text) as { seq?: number }).seq;
      if (seq !== undefined) setImmediate(() => next.deliver({ message_type: "ack_message", seq }));
    };
    const lastSeq = Math.max(
      ...socket.frames
        .filter((frame) => frame.message_type !== "ack_message")
        .map((frame) => (frame.seq as number) ?? 0),
    );
    assert.equal(session.resume(asWs(next), lastSeq), true);
    await until(() => next.ofType("result_message").length === 1, "the result", 15_000);
    const text = [...socket.ofType("command_output_message"), ...next.ofType("command_output_message")]
      .map((frame) => frame.text as string)
      .join("");
    const lines = text.split("\n").filter(Boolean);
    assert.equal(lines.length, 200_000);
    const outOfPlace = lines.findIndex((line, index) => line !== String(index).padStart(8, "0"));
    assert.equal(outOfPlace, -1, "every line arrives once, in order");
    next.deliver({ message_type: "end_session_message", seq: 2 });
    await session.done();
  });
});
