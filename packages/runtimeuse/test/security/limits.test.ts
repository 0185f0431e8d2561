import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { setImmediate as nextTurn } from "node:timers/promises";
import { WebSocket } from "ws";
import type { AgentHandler } from "../../src/handler.js";
import { invocation, isAlive, RawClient, waitFor } from "../support/client.js";
import { startTestServer } from "../support/server.js";
import { expectRefused, runPrintingPids } from "./support.js";

const echo: AgentHandler = { run: async (inv) => ({ type: "text", text: inv.userPrompt }) };

describe("incoming frame limit", () => {
  test("a frame over maxFrameBytes closes that connection with 1009 and a log line; others carry on", async () => {
    const server = await startTestServer({ handler: echo, maxFrameBytes: 1024 });
    try {
      const bystander = await RawClient.connect(server.url);
      const client = await RawClient.connect(server.url);
      client.send(" ".repeat(1024));
      const atLimit = await client.next();
      assert.equal((atLimit.metadata as { code: string }).code, "invalid_json", "a frame of exactly the limit is read");
      client.send(JSON.stringify(invocation({ user_prompt: "x".repeat(1024) })));
      assert.equal(await client.closed, 1009);
      await waitFor(() => server.logs.some((line) => line.includes("frame larger than the limit; closing with 1009")));
      bystander.send(invocation({ user_prompt: "still here" }));
      assert.deepEqual((await bystander.untilTerminal()).terminal.data, { type: "text", text: "still here" });
      await bystander.close();
    } finally {
      await server.close();
    }
  });
});

describe("connection cap", () => {
  test("past maxConnections the upgrade gets 503; a freed slot admits the next client", async () => {
    const server = await startTestServer({ handler: echo, maxConnections: 2 });
    try {
      const first = await RawClient.connect(server.url);
      const second = await RawClient.connect(server.url);
      const refused = await expectRefused(server.url);
      assert.equal(refused.status, 503);
      assert.match(refused.body, /the runtime is at its limit of 2 connections/);
      assert.ok(server.logs.some((line) => /upgrade refused status=503 reason=connection_limit/.test(line)));
      await first.close();
      await waitFor(() => server.server.connectionCount === 1, 20_000, "the closed connection to be released");
      const third = await RawClient.connect(server.url);
      third.send(invocation({ user_prompt: "admitted" }));
      assert.deepEqual((await third.untilTerminal()).terminal.data, { type: "text", text: "admitted" });
      await Promise.all([second.close(), third.close()]);
    } finally {
      await server.close();
    }
  });
});

describe("handlers that outlive their connection", () => {
  test("a handler ignoring its abort stops counting against maxConnections after the kill grace and the wind-down", async () => {
    let release: (() => void) | undefined;
    let started = false;
    const handler: AgentHandler = {
      async run(inv) {
        if (inv.userPrompt !== "ignore the abort") return { type: "text", text: inv.userPrompt };
        started = true;
        // Never looks at inv.signal: only the test ends this.
        await new Promise<void>((resolve) => {
          release = resolve;
        });
        return { type: "text", text: "too late" };
      },
    };
    const killGraceMs = 200;
    const windDownTimeoutMs = 1_500;
    const server = await startTestServer({ handler, maxConnections: 1, killGraceMs, windDownTimeoutMs });
    const health = async () =>
      (await (await fetch(`${server.url.replace(/^ws:/, "http:")}/health`)).json()) as Record<string, unknown>;
    try {
      const gone = await RawClient.connect(server.url);
      gone.send(invocation({ user_prompt: "ignore the abort" }));
      await waitFor(() => started, 20_000, "the handler to start");
      await gone.close();
      // Within the bound the ended connection still holds its slot, as for a handler winding down.
      assert.equal(server.server.stuckRequests, 0);
      assert.equal((await expectRefused(server.url)).status, 503);

      await waitFor(() => server.server.stuckRequests === 1, 20_000, "the request to be counted as stuck");
      const line = server.logs.find((entry) => /has not returned since its connection ended/.test(entry));
      assert.ok(line, server.logs.join("\n"));
      assert.match(line, new RegExp(`connection=1 waited_ms=${killGraceMs + windDownTimeoutMs}`));
      const report = await health();
      assert.equal(report.stuck_requests, 1);
      assert.equal(report.connections, 0);
      assert.equal(report.requests_in_flight, 0);

      const next = await RawClient.connect(server.url);
      next.send(invocation({ user_prompt: "admitted" }));
      assert.deepEqual((await next.untilTerminal()).terminal.data, { type: "text", text: "admitted" });
      assert.equal((await health()).connections, 1);

      release?.();
      await waitFor(() => server.server.stuckRequests === 0, 20_000, "the stuck handler's return to be noticed");
      assert.ok(server.logs.some((entry) => /a stuck request's handler returned connection=1/.test(entry)));
      assert.equal(server.server.connectionCount, 1);
      await next.close();
    } finally {
      release?.();
      await server.close();
    }
  });
});

describe("dead peers", () => {
  test("a peer that stops answering pings is dropped, its request cancelled and its processes killed", async () => {
    const server = await startTestServer({ handler: echo, pingIntervalMs: 200, killGraceMs: 500 });
    try {
      // Pongs are answered by hand so the test decides when the peer "dies".
      const client = await RawClient.connect(server.url, { autoPong: false });
      let answering = true;
      let pings = 0;
      client.ws.on("ping", (data) => {
        pings++;
        if (answering) client.ws.pong(data);
      });
      const pids = await runPrintingPids(client, "sleep 300 & echo $!; echo $$; wait");
      assert.ok(pids.every(isAlive), `processes ${pids.join(", ")} run`);
      const seen = pings;
      await waitFor(() => pings >= seen + 3, 20_000, "three more pings");
      assert.equal(client.closeCode, undefined, "a peer that answers pings is kept");

      answering = false;
      assert.equal(await client.closed, 1006);
      await waitFor(() => pids.every((pid) => !isAlive(pid)), 20_000, `processes ${pids.join(", ")} to be killed`);
      await waitFor(() => server.server.connectionCount === 0);
      assert.ok(server.logs.some((line) => line.includes("peer stopped answering pings; dropping the connection")));
      assert.ok(
        server.logs.some((line) => /request end .*outcome=disconnected/.test(line)),
        server.logs.join("\n"),
      );
    } finally {
      await server.close();
    }
  });
});

/** A raw client that sends one invocation and then reads nothing more. */
async function invokeThenStopReading(url: string): Promise<WebSocket> {
  const ws = new WebSocket(url);
  await new Promise((resolve, reject) => ws.once("open", resolve).once("error", reject));
  ws.send(JSON.stringify(invocation()));
  ws.pause();
  return ws;
}

describe("outgoing buffer cap", () => {
  test("a peer that does not read is dropped once its queue passes maxBufferedBytes", async () => {
    let sent = 0;
    let aborted: AbortSignal | undefined;
    // A handler that ignores backpressure: it never awaits its sends.
    const flood: AgentHandler = {
      async run(inv, sender) {
        aborted = inv.signal;
        const block = "x".repeat(64 * 1024);
        while (!inv.signal.aborted && sent < 2_000) {
          void sender.sendAssistantMessage([block]);
          sent++;
          await nextTurn();
        }
        return { type: "text", text: "stopped" };
      },
    };
    const server = await startTestServer({ handler: flood, maxBufferedBytes: 512 * 1024 });
    try {
      const ws = await invokeThenStopReading(server.url);
      await waitFor(() => aborted?.aborted === true, 60_000, "the handler's signal to fire");
      await waitFor(() => server.server.connectionCount === 0);
      assert.ok(sent < 2_000, "the drop stopped the producer");
      const line = server.logs.find((entry) => entry.includes("peer is not reading; dropping the connection"));
      assert.ok(line, server.logs.join("\n"));
      assert.match(line, /limit=524288/);
      ws.terminate();
    } finally {
      await server.close();
    }
  });

  test("a handler that goes on awaiting sends after its connection dropped does not stop the runtime serving others", async () => {
    let stop = false;
    const runaway: AgentHandler = {
      async run(inv, sender) {
        if (inv.userPrompt !== "runaway") return { type: "text", text: inv.userPrompt };
        // Ignores its signal: only the test ends this loop.
        while (!stop) await sender.sendAssistantMessage(["again"]);
        return { type: "text", text: "stopped" };
      },
    };
    const server = await startTestServer({ handler: runaway });
    try {
      const first = await RawClient.connect(server.url);
      first.send(invocation({ user_prompt: "runaway" }));
      await first.next();
      first.ws.terminate();
      await waitFor(() => server.logs.some((line) => line.includes("outcome=disconnected")));
      const second = await RawClient.connect(server.url);
      second.send(invocation({ user_prompt: "still serving" }));
      const { terminal } = await second.untilTerminal();
      assert.deepEqual(terminal.data, { type: "text", text: "still serving" });
      await second.close();
    } finally {
      stop = true;
      await server.close();
    }
  });

  test("a handler held back by a peer that stopped reading is released when the peer goes away", async () => {
    let waiting = false;
    let returned = false;
    // A handler that respects backpressure: each send is awaited, so it stops while the socket is full.
    const patient: AgentHandler = {
      async run(inv, sender) {
        const block = "y".repeat(64 * 1024);
        while (!inv.signal.aborted) {
          waiting = true;
          await sender.sendAssistantMessage([block]);
          waiting = false;
        }
        returned = true;
        return { type: "text", text: "stopped" };
      },
    };
    const server = await startTestServer({ handler: patient, sendHighWaterMark: 64 * 1024 });
    try {
      const ws = await invokeThenStopReading(server.url);
      // Held back: the same send is still awaited a while later (the peer reads nothing meanwhile).
      let heldSince: number | undefined;
      await waitFor(() => {
        if (!waiting) heldSince = undefined;
        else heldSince ??= Date.now();
        return heldSince !== undefined && Date.now() - heldSince >= 300;
      }, 30_000);
      ws.terminate();
      await waitFor(() => returned && server.server.connectionCount === 0, 30_000, "the handler to return");
    } finally {
      await server.close();
    }
  });
});
