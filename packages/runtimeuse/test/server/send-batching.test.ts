import assert from "node:assert/strict";
import { once } from "node:events";
import { type AddressInfo, Socket } from "node:net";
import { after, before, describe, test } from "node:test";
import { WebSocketServer } from "ws";
import type { AgentHandler } from "../../src/handler.js";
import { WebSocketSession } from "../../src/session/websocket-session.js";
import { invocation, RawClient } from "../support/client.js";
import { startTestServer, type TestServer } from "../support/server.js";

// The session gathers the frames of one tick into one socket write. These
// tests pin what must not change because of that: nothing is held back past
// its tick, and bursts arrive whole and in order, also under backpressure.

/** Resolved by the test once the client has seen the handler's first message. */
let releaseHandler: (() => void) | undefined;

const handler: AgentHandler = {
  async run(invocation, sender) {
    const [mode, countText] = invocation.userPrompt.split(" ");
    const count = Number(countText ?? 0);
    if (mode === "hold") {
      await sender.sendAssistantMessage(["first"]);
      // Waits for the client to have received "first": held-back frames would deadlock here.
      await new Promise<void>((resolve) => {
        releaseHandler = resolve;
        invocation.signal.addEventListener("abort", () => resolve());
      });
      return { type: "text", text: "released" };
    }
    if (mode === "await") {
      for (let i = 0; i < count; i++) await sender.sendAssistantMessage([`m${i}`]);
      return { type: "text", text: `sent ${count}` };
    }
    if (mode === "fire") {
      for (let i = 0; i < count; i++) void sender.sendAssistantMessage([`m${i}`]);
      return { type: "text", text: `sent ${count}` };
    }
    throw new Error(`unknown mode ${mode}`);
  },
};

let server: TestServer;
before(async () => {
  // A small high-water mark makes bursts hit the socket's backpressure.
  server = await startTestServer({ handler, sendHighWaterMark: 16 * 1024 });
});
after(() => server.close());

/**
 * Sends one invocation whose handler streams three assistant messages in one
 * tick, and records each time the server's TCP socket for `port` lets
 * buffered bytes go (an `uncork` that ends the last cork): how many bytes
 * left together. `ws` corks each frame's header and payload itself, so
 * without the session's own cork every frame leaves on its own.
 */
async function flushesForOneTick(url: string, port: number): Promise<{ flushes: number[]; types: string[] }> {
  const flushes: number[] = [];
  const uncork = Socket.prototype.uncork;
  Socket.prototype.uncork = function (this: Socket) {
    if (this.localPort === port && this.writableCorked === 1 && this.writableLength > 0) {
      flushes.push(this.writableLength);
    }
    uncork.call(this);
  };
  try {
    const client = await RawClient.connect(url);
    flushes.length = 0;
    client.send(invocation({ user_prompt: "fire 3" }));
    const { frames } = await client.untilTerminal();
    await client.close();
    return { flushes: [...flushes], types: frames.map((frame) => String(frame.message_type)) };
  } finally {
    Socket.prototype.uncork = uncork;
  }
}

function assistantTexts(frames: Array<Record<string, unknown>>): string[] {
  return frames
    .filter((frame) => frame.message_type === "assistant_message")
    .map((frame) => (frame.text_blocks as string[])[0] ?? "");
}

function assertInOrder(texts: string[], count: number): void {
  assert.equal(texts.length, count);
  for (let i = 0; i < count; i++) assert.equal(texts[i], `m${i}`, `message ${i} out of place`);
}

describe("frames gathered per tick", () => {
  test("an assistant message reaches the client while its handler is still running", async () => {
    const client = await RawClient.connect(server.url);
    client.send(invocation({ user_prompt: "hold" }));
    const first = await client.next();
    assert.deepEqual(first, { message_type: "assistant_message", text_blocks: ["first"] });
    assert.ok(releaseHandler, "the handler is waiting");
    releaseHandler();
    const { terminal } = await client.untilTerminal();
    assert.deepEqual(terminal.data, { type: "text", text: "released" });
    await client.close();
  });

  test("20,000 awaited assistant messages under backpressure arrive whole and in order, then the result", async () => {
    const client = await RawClient.connect(server.url);
    client.send(invocation({ user_prompt: "await 20000" }));
    const { frames, terminal } = await client.untilTerminal(60_000);
    const texts = assistantTexts(frames);
    assertInOrder(texts, 20_000);
    assert.deepEqual(terminal.data, { type: "text", text: "sent 20000" });
    await client.close();
  });

  test("5,000 assistant messages sent without awaiting arrive whole and in order before the result", async () => {
    const client = await RawClient.connect(server.url);
    client.send(invocation({ user_prompt: "fire 5000" }));
    const { frames, terminal } = await client.untilTerminal(60_000);
    const texts = assistantTexts(frames);
    assertInOrder(texts, 5_000);
    assert.equal(terminal.message_type, "result_message");
    await client.close();
  });

  test("three assistant messages and the result sent in one tick leave the server in one write", async () => {
    const { flushes, types } = await flushesForOneTick(server.url, server.port);
    assert.deepEqual(types, ["assistant_message", "assistant_message", "assistant_message", "result_message"]);
    assert.equal(flushes.length, 1, `bytes per write: ${flushes.join(", ")}`);
  });

  test("requests back to back on one connection each get their frames and terminal in order", async () => {
    const client = await RawClient.connect(server.url);
    for (let round = 0; round < 50; round++) {
      client.send(invocation({ user_prompt: "await 3" }));
      const { frames, terminal } = await client.untilTerminal();
      const texts = assistantTexts(frames);
      assertInOrder(texts, 3);
      assert.deepEqual(terminal.data, { type: "text", text: "sent 3" });
    }
    await client.close();
  });
});

/**
 * A user's own `ws` server on port 0 with a `WebSocketSession` per
 * connection (given the upgrade request when `withRequest`); runs `use`, then
 * waits for the sessions to end and closes the server.
 */
async function withOwnServer(
  options: { withRequest: boolean; perMessageDeflate?: boolean },
  use: (url: string, port: number) => Promise<void>,
): Promise<void> {
  const wss = new WebSocketServer({
    port: 0,
    host: "127.0.0.1",
    perMessageDeflate: options.perMessageDeflate ?? false,
  });
  await once(wss, "listening");
  const sessions: WebSocketSession[] = [];
  wss.on("connection", (ws, request) =>
    sessions.push(new WebSocketSession(ws, { handler, ...(options.withRequest ? { upgradeRequest: request } : {}) })),
  );
  try {
    const { port } = wss.address() as AddressInfo;
    await use(`ws://127.0.0.1:${port}`, port);
    await Promise.all(sessions.map((session) => session.done()));
  } finally {
    await new Promise<void>((resolve) => wss.close(() => resolve()));
  }
}

/** Sends `prompt`, reads up to the terminal, and checks `count` assistant messages in order, then the result. */
async function assertBurst(url: string, prompt: string, count: number, clientOptions = {}): Promise<void> {
  const client = await RawClient.connect(url, clientOptions);
  client.send(invocation({ user_prompt: prompt }));
  const { frames, terminal } = await client.untilTerminal(60_000);
  assertInOrder(assistantTexts(frames), count);
  assert.deepEqual(terminal.data, { type: "text", text: `sent ${count}` });
  await client.close();
}

describe("frames gathered per tick on a user's own ws server", () => {
  test("given the upgrade request, the frames of one tick leave in one write", async () => {
    await withOwnServer({ withRequest: true }, async (url, port) => {
      const { flushes, types } = await flushesForOneTick(url, port);
      assert.deepEqual(types, ["assistant_message", "assistant_message", "assistant_message", "result_message"]);
      assert.equal(flushes.length, 1, `bytes per write: ${flushes.join(", ")}`);
    });
  });

  test("without the upgrade request, every frame still arrives, in order", async () => {
    await withOwnServer({ withRequest: false }, (url) => assertBurst(url, "fire 500", 500));
  });

  test("with permessage-deflate on, a burst of 3,000 assistant messages arrives whole and in order", async () => {
    await withOwnServer({ withRequest: true, perMessageDeflate: true }, (url) =>
      assertBurst(url, "await 3000", 3_000, { perMessageDeflate: true }),
    );
  });
});
