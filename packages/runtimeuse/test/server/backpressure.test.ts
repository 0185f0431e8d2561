import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { after, before, describe, test } from "node:test";
import { setImmediate as nextTurn } from "node:timers/promises";
import { WebSocket } from "ws";
import type { AgentHandler } from "../../src/handler.js";
import { DEFAULT_SEND_HIGH_WATER_MARK } from "../../src/session-defaults.js";
import { invocation, RawClient } from "../support/client.js";
import { startTestServer, type TestServer } from "../support/server.js";

// What the outbox promises producers, at the runtime's default limits: a
// handler that never awaits its sends loses nothing and keeps their order; a
// handler that awaits them goes no faster than the peer reads.

const BURST = 100_000;
const BLOCK_BYTES = 64 * 1024;

/** The largest a TCP buffer of this machine may grow to (the third figure of tcp_rmem / tcp_wmem). */
function tcpBufferMax(kind: "rmem" | "wmem"): number {
  try {
    const max = Number(readFileSync(`/proc/sys/net/ipv4/tcp_${kind}`, "utf8").trim().split(/\s+/)[2]);
    return Number.isFinite(max) && max > 0 ? max : 64 * 1024 * 1024;
  } catch {
    return 64 * 1024 * 1024;
  }
}

/**
 * How far (in bytes) a held-back producer may get ahead of what the peer has
 * read: the outbox's high-water mark plus what the kernel holds in the
 * runtime's send buffer and the peer's receive buffer, at their largest.
 */
const HELD_BACK_BOUND = DEFAULT_SEND_HIGH_WATER_MARK + tcpBufferMax("rmem") + tcpBufferMax("wmem");
/** Twice the bound: a producer that is not held back sends them all while the peer reads nothing. */
const HELD_BACK_BLOCKS = Math.ceil((2 * HELD_BACK_BOUND) / BLOCK_BYTES);

/** What the awaiting handler did, read by the test while it runs. */
const awaiting = { sent: 0, waiting: false, maxAhead: 0, peerRead: () => 0 };

const handler: AgentHandler = {
  async run(inv, sender) {
    if (inv.userPrompt === "burst") {
      for (let i = 0; i < BURST; i++) void sender.sendAssistantMessage([`m${i}`]);
      return { type: "text", text: `sent ${BURST}` };
    }
    const filler = "z".repeat(BLOCK_BYTES);
    for (let i = 0; i < HELD_BACK_BLOCKS && !inv.signal.aborted; i++) {
      awaiting.waiting = true;
      await sender.sendAssistantMessage([`${i} ${filler}`]);
      awaiting.waiting = false;
      awaiting.sent = i + 1;
      awaiting.maxAhead = Math.max(awaiting.maxAhead, awaiting.sent - awaiting.peerRead());
    }
    return { type: "text", text: `sent ${awaiting.sent}` };
  },
};

let server: TestServer;
before(async () => {
  server = await startTestServer({ handler });
});
after(() => server.close());

describe("backpressure at the default limits", () => {
  test("100,000 assistant messages sent without awaiting arrive all, once each and in order, before the result", async () => {
    const client = await RawClient.connect(server.url);
    client.send(invocation({ user_prompt: "burst" }));
    const { frames, terminal } = await client.untilTerminal(120_000);
    assert.deepEqual(terminal.data, { type: "text", text: `sent ${BURST}` });
    assert.equal(frames.length, BURST + 1);
    for (let i = 0; i < BURST; i++) {
      const frame = frames[i];
      assert.equal(frame?.message_type, "assistant_message", `frame ${i}`);
      assert.deepEqual(frame?.text_blocks, [`m${i}`], `message ${i} out of place`);
    }
    await client.close();
  });

  test("an awaiting handler is held back while the peer stops reading, then delivers everything in order", async () => {
    const ws = new WebSocket(server.url);
    await new Promise((resolve, reject) => ws.once("open", resolve).once("error", reject));
    let read = 0;
    let misplaced: string | undefined;
    let paused = false;
    let over = false;
    awaiting.peerRead = () => read;
    const result = new Promise<Record<string, unknown>>((resolve, reject) => {
      ws.on("message", (data) => {
        const frame = JSON.parse(String(data)) as Record<string, unknown>;
        if (frame.message_type !== "assistant_message") {
          over = true;
          resolve(frame);
          return;
        }
        const block = (frame.text_blocks as string[])[0] ?? "";
        if (misplaced === undefined && !block.startsWith(`${read} `))
          misplaced = `message ${read}: ${block.slice(0, 20)}`;
        read++;
        if (read === 8) {
          // Stops reading after a few messages; the kernel buffers fill, then the runtime's.
          ws.pause();
          paused = true;
        }
      });
      ws.once("close", (code) => {
        over = true;
        reject(new Error(`connection closed (${code}) before the result`));
      });
    });
    ws.send(JSON.stringify(invocation({ user_prompt: "held back" })));

    // Until the handler has sat in one awaited send for many turns of the event loop with nothing read.
    let stalledTurns = 0;
    let lastSent = -1;
    while (stalledTurns < 2_000 && !over) {
      await nextTurn();
      if (!paused || !awaiting.waiting || awaiting.sent !== lastSent) stalledTurns = 0;
      else stalledTurns++;
      lastSent = awaiting.sent;
    }
    assert.equal(read, 8, "the peer read nothing more while paused");
    assert.ok(
      awaiting.sent < HELD_BACK_BLOCKS,
      `held back: ${awaiting.sent} of ${HELD_BACK_BLOCKS} sends resolved while the peer read ${read}`,
    );
    ws.resume();
    const terminal = await result;
    assert.equal(misplaced, undefined, misplaced);
    assert.deepEqual(terminal.data, { type: "text", text: `sent ${HELD_BACK_BLOCKS}` });
    assert.equal(read, HELD_BACK_BLOCKS);
    assert.ok(
      awaiting.maxAhead * BLOCK_BYTES <= HELD_BACK_BOUND,
      `a send resolved ${awaiting.maxAhead} messages ahead of the peer (bound ${HELD_BACK_BOUND} bytes)`,
    );
    ws.close();
  });
});
