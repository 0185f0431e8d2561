import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { readdir, readFile } from "node:fs/promises";
import { createServer } from "node:net";
import { join } from "node:path";
import { describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { WebSocket } from "ws";
import { RuntimeUseClient as StandardClient } from "../src/index.js";
import {
  ConnectionError,
  InvalidOptionsError,
  NodeWebSocketTransport,
  RuntimeUseClient,
  type StandardWebSocketConstructor,
  StandardWebSocketTransport,
  type Transport,
} from "../src/node.js";
import { assertBuilt } from "./support/built.js";
import { Q, recordingHandler, waitFor, withRuntime } from "./support/runtime.js";
import { expectFrame, startScriptedServer } from "./support/scripted-server.js";

const run = promisify(execFile);
const SRC = fileURLToPath(new URL("../src/", import.meta.url));
const ROOT = fileURLToPath(new URL("../../../", import.meta.url));
const wsAsStandard = WebSocket as unknown as StandardWebSocketConstructor;

/** A server that answers one command execution with an empty result. */
function answering() {
  return startScriptedServer(async (peer) => {
    await expectFrame(peer, "command_execution_message");
    peer.send({ message_type: "command_execution_result_message", results: [] });
  });
}

/** Sets `globalThis.WebSocket` for the duration of `fn`. */
async function withGlobalWebSocket(value: unknown, fn: () => Promise<void>): Promise<void> {
  const had = Object.hasOwn(globalThis, "WebSocket");
  const previous = (globalThis as { WebSocket?: unknown }).WebSocket;
  Object.defineProperty(globalThis, "WebSocket", { value, configurable: true, writable: true });
  try {
    await fn();
  } finally {
    if (had) Object.defineProperty(globalThis, "WebSocket", { value: previous, configurable: true, writable: true });
    else delete (globalThis as { WebSocket?: unknown }).WebSocket;
  }
}

describe("transports", () => {
  test("the Node transport sends the token as an Authorization Bearer header, with the extra headers", async () => {
    const server = await answering();
    try {
      const client = new RuntimeUseClient({
        url: `${server.url}/rt`,
        token: "tok-123",
        headers: { "X-Sandbox": "sb-7" },
      });
      await client.executeCommands([{ command: "true" }]);
      const { request } = await server.peer(0);
      assert.equal(request.headers.authorization, "Bearer tok-123");
      assert.equal(request.headers["x-sandbox"], "sb-7");
      assert.equal(
        request.url,
        "/rt?resumable=1",
        "the token is not put in the URL; a resumable connection is asked for",
      );
    } finally {
      await server.close();
    }
  });

  test("the standard transport sends the token as the token query parameter, keeping the URL's own query", async () => {
    const server = await answering();
    try {
      const transport = new StandardWebSocketTransport({ WebSocket: wsAsStandard });
      await new RuntimeUseClient({ url: `${server.url}/rt?region=eu`, token: "a b&c", transport }).executeCommands([
        { command: "true" },
      ]);
      const { request } = await server.peer(0);
      const url = new URL(request.url ?? "", "ws://x");
      assert.equal(url.pathname, "/rt");
      assert.equal(url.searchParams.get("region"), "eu");
      assert.equal(url.searchParams.get("token"), "a b&c");
      assert.equal(request.headers.authorization, undefined);
    } finally {
      await server.close();
    }
  });

  test("the main entry uses the global WebSocket when there is one, and says what to do when there is none", async () => {
    const { handler } = recordingHandler();
    await withRuntime({ handler }, async ({ url }) => {
      await withGlobalWebSocket(wsAsStandard, async () => {
        const result = await new StandardClient({ url }).query("via global WebSocket", Q);
        assert.deepEqual(result.data, { type: "text", text: "via global WebSocket" });
        assert.throws(
          () => new StandardClient({ url, headers: { "X-A": "1" } }),
          /^InvalidOptionsError: headers: the standard WebSocket API cannot send handshake headers/,
        );
      });
      await withGlobalWebSocket(undefined, async () => {
        assert.throws(
          () => new StandardClient({ url }),
          (error: unknown) =>
            error instanceof InvalidOptionsError &&
            error.message.includes("no global WebSocket") &&
            error.message.includes("runtimeuse-client/node"),
        );
        // An explicit transport works anywhere.
        const transport = new StandardWebSocketTransport({ WebSocket: wsAsStandard });
        const result = await new StandardClient({ url, transport }).executeCommands([{ command: "echo ok" }]);
        assert.equal(result.results[0]?.stdout, "ok\n");
      });
    });
  });

  test("Node's own standard WebSocket (--experimental-websocket) drives the real runtime through the built main entry", async () => {
    await assertBuilt();
    const { handler } = recordingHandler(async (invocation, sender) => {
      await sender.sendAssistantMessage(["streamed"]);
      return { type: "text", text: `echo:${invocation.userPrompt}` };
    });
    await withRuntime({ handler }, async ({ url }) => {
      const script = `
        import { RuntimeUseClient } from "runtimeuse-client";
        const client = new RuntimeUseClient({ url: process.env.RT_URL });
        const events = [];
        for await (const event of client.stream("hi", { systemPrompt: "s", model: "m" })) events.push(event.type);
        const session = await client.session();
        const commands = await session.executeCommands([{ command: "echo from-undici" }]);
        await session.close();
        console.log(JSON.stringify({ events, stdout: commands.results[0].stdout }));
      `;
      const { stdout } = await run(
        process.execPath,
        ["--experimental-websocket", "--no-warnings", "--input-type=module", "-e", script],
        { cwd: ROOT, env: { ...process.env, RT_URL: url }, timeout: 60_000 },
      );
      assert.deepEqual(JSON.parse(stdout), { events: ["assistant_message", "result"], stdout: "from-undici\n" });
    });
  });

  test("the real runtime admits the Bearer header and the token query parameter, and refuses a wrong token", async () => {
    const { handler } = recordingHandler();
    await withRuntime({ handler, token: "rt-secret" }, async ({ url }) => {
      const viaHeader = await new RuntimeUseClient({ url, token: "rt-secret" }).executeCommands([
        { command: "echo h" },
      ]);
      assert.equal(viaHeader.results[0]?.stdout, "h\n");
      const transport = new StandardWebSocketTransport({ WebSocket: wsAsStandard });
      const viaQuery = await new RuntimeUseClient({ url, token: "rt-secret", transport }).query("q", Q);
      assert.deepEqual(viaQuery.data, { type: "text", text: "q" });
      await assert.rejects(
        new RuntimeUseClient({ url, token: "wrong" }).session(),
        (error: unknown) => error instanceof ConnectionError && /HTTP 401 .*\(check the token\)$/.test(error.message),
      );
      await assert.rejects(new RuntimeUseClient({ url }).executeCommands([{ command: "true" }]), /HTTP 401/);
    });
  });

  test("a refused upgrade is a ConnectionError naming the HTTP status, without leaking the token", async () => {
    const server = await startScriptedServer(() => {}, { refuseWith: 401 });
    try {
      const client = new RuntimeUseClient({ url: `${server.url}/?token=leaky`, token: "tok-secret" });
      await assert.rejects(client.executeCommands([{ command: "true" }]), (error: unknown) => {
        assert.ok(error instanceof ConnectionError);
        assert.match(error.message, /refused the WebSocket connection: HTTP 401 .*\(check the token\)$/);
        assert.ok(!error.message.includes("tok-secret") && !error.message.includes("leaky"));
        return true;
      });
      await assert.rejects(
        new StandardClient({
          url: server.url,
          transport: new StandardWebSocketTransport({ WebSocket: wsAsStandard }),
        }).session(),
        /^ConnectionError: could not connect to the runtime at ws:\/\/127\.0\.0\.1:\d+\/ \(close code 1006\)$/,
      );
    } finally {
      await server.close();
    }
  });

  test("connecting where nothing listens is a ConnectionError", async () => {
    const probe = createServer();
    await new Promise<void>((resolve) => probe.listen(0, "127.0.0.1", resolve));
    const { port } = probe.address() as { port: number };
    await new Promise<void>((resolve) => probe.close(() => resolve()));
    await assert.rejects(
      new RuntimeUseClient({ url: `ws://127.0.0.1:${port}` }).session(),
      (error: unknown) => error instanceof ConnectionError && /could not connect .*ECONNREFUSED/.test(error.message),
    );
  });

  test("a slow consumer pauses the Node connection and gets every message; without flow control maxQueuedMessages ends it", async () => {
    const COUNT = 5000;
    const { handler } = recordingHandler(async (_invocation, sender) => {
      for (let i = 0; i < COUNT; i++) void sender.sendAssistantMessage([`message ${i} ${"x".repeat(60)}`]);
      return { type: "text", text: "all sent" };
    });
    await withRuntime({ handler }, async ({ url, server }) => {
      // The Node transport, counting the flow-control calls the client makes.
      const flow = { pauses: 0, resumes: 0 };
      const node = new NodeWebSocketTransport();
      const counting: Transport = {
        async connect(target, handlers) {
          const connection = await node.connect(target, handlers);
          return {
            send: (frame) => connection.send(frame),
            close: () => connection.close(),
            pause: () => {
              flow.pauses++;
              connection.pause?.();
            },
            resume: () => {
              flow.resumes++;
              connection.resume?.();
            },
          };
        },
      };
      let received = 0;
      for await (const event of new RuntimeUseClient({ url, maxQueuedMessages: 2000, transport: counting }).stream(
        "flood",
        Q,
      )) {
        // Read nothing until the backlog has made the client pause the socket.
        if (received === 0) await waitFor(() => flow.pauses > 0, "the client to pause the connection");
        if (event.type === "assistant_message") received++;
      }
      assert.equal(received, COUNT);
      assert.ok(flow.resumes > 0);

      // The standard API cannot pause: a consumer that stops reading makes the backlog hit the cap.
      const transport = new StandardWebSocketTransport({ WebSocket: wsAsStandard });
      await assert.rejects(
        async () => {
          for await (const _event of new RuntimeUseClient({ url, maxQueuedMessages: 2000, transport }).stream(
            "flood",
            Q,
          )) {
            await waitFor(() => server.connectionCount === 0, "the client to give up the connection");
          }
        },
        (error: unknown) => {
          assert.ok(error instanceof ConnectionError, String(error));
          assert.match(error.message, /more than maxQueuedMessages \(2000\) messages from the runtime were waiting/);
          return true;
        },
      );
    });
  });

  test("no module outside the Node transport imports Node.js built-ins or ws", async () => {
    const nodeOnly = new Set(["node.ts", join("transport", "node.ts")]);
    const files = (await readdir(SRC, { recursive: true })).filter((f) => f.endsWith(".ts"));
    assert.ok(files.length > 10);
    for (const file of files) {
      if (nodeOnly.has(file)) continue;
      const text = await readFile(join(SRC, file), "utf8");
      const imports = [...text.matchAll(/(?:from|import)\s*\(?\s*"([^"]+)"/g)].map((m) => m[1] ?? "");
      for (const specifier of imports) {
        assert.ok(specifier.startsWith(".") || specifier === "@runtimeuse/protocol", `${file} imports ${specifier}`);
        assert.ok(
          !specifier.endsWith("transport/node.js") && specifier !== "./node.js",
          `${file} imports ${specifier}`,
        );
      }
      assert.doesNotMatch(text, /\b(Buffer|process|require)\b[.(]/, `${file} uses a Node.js global`);
    }
  });
});
