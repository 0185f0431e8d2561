import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { WebSocket } from "ws";
import { startTestServer, type TestServer } from "../support/server.js";

// Resume handshakes against the real server: refusals come as plain HTTP
// statuses before any WebSocket exists, and never disturb the session they
// name; the secret never shows in the log, /health or a command's environment.

const TOKEN = "tok-resume-test";

interface Peer {
  ws: WebSocket;
  frames: Record<string, unknown>[];
  closed: Promise<number>;
}

function connect(url: string, headers: Record<string, string> = {}): Promise<Peer> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { headers });
    const frames: Record<string, unknown>[] = [];
    const closed = new Promise<number>((done) => ws.on("close", (code) => done(code)));
    ws.on("message", (data) => frames.push(JSON.parse(data.toString()) as Record<string, unknown>));
    ws.on("open", () => resolve({ ws, frames, closed }));
    ws.on("unexpected-response", (_request, response) => reject(new Error(`HTTP ${response.statusCode}`)));
    ws.on("error", reject);
  });
}

async function until(condition: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

const auth = { authorization: `Bearer ${TOKEN}` };

async function withServer(fn: (server: TestServer) => Promise<void>, resumeGraceMs = 30_000): Promise<void> {
  const server = await startTestServer({
    handler: async (invocation) => ({ type: "text", text: invocation.userPrompt }),
    token: TOKEN,
    resumeGraceMs,
  });
  try {
    await fn(server);
  } finally {
    await server.close();
  }
}

/** Opens a resumable connection and returns it with its session frame. */
async function resumable(server: TestServer) {
  const peer = await connect(`${server.url}/?resumable=1`, auth);
  await until(() => peer.frames.length > 0, "the session frame");
  const session = peer.frames[0] as { message_type: string; session_id: string; resume_secret: string };
  assert.equal(session.message_type, "session_message");
  return { peer, session };
}

const commands = (seq: number, command: string) =>
  JSON.stringify({ message_type: "command_execution_message", commands: [{ command }], seq });

describe("resume handshakes", () => {
  test("a wrong secret (401), an unknown session (404) or a missing token (401) is refused before the upgrade, and the session goes on", async () => {
    await withServer(async (server) => {
      const { peer, session } = await resumable(server);
      const resumeUrl = (id: string) => `${server.url}/?resume=${id}&last_seq=0`;
      await assert.rejects(
        connect(resumeUrl(session.session_id), { ...auth, "runtimeuse-resume-secret": "not-the-secret" }),
        /HTTP 401/,
      );
      await assert.rejects(connect(resumeUrl(session.session_id), auth), /HTTP 401/, "no secret at all");
      await assert.rejects(
        connect(resumeUrl("no-such-session"), { ...auth, "runtimeuse-resume-secret": session.resume_secret }),
        /HTTP 404/,
      );
      await assert.rejects(
        connect(resumeUrl(session.session_id), { "runtimeuse-resume-secret": session.resume_secret }),
        /HTTP 401/,
        "the token still applies to a resume",
      );
      // The attached connection was not disturbed: it runs a request.
      peer.ws.send(commands(1, "echo still-here"));
      await until(() => peer.frames.some((f) => f.message_type === "command_execution_result_message"), "the result");
      const result = peer.frames.find((f) => f.message_type === "command_execution_result_message") as {
        results: { stdout: string }[];
        seq: number;
      };
      assert.equal(result.results[0]?.stdout, "still-here\n");
      assert.equal(typeof result.seq, "number");
      peer.ws.close(1000);
      await peer.closed;
    });
  });

  test("a detached session keeps its window through refused resumes, then resumes with the secret in the query", async () => {
    await withServer(async (server) => {
      const { peer, session } = await resumable(server);
      peer.ws.send(commands(1, "sleep 0.2; echo late"));
      await until(() => peer.frames.some((f) => f.message_type === "ack_message"), "the ack of the request");
      peer.ws.terminate();
      await peer.closed;
      const base = `${server.url}/?resume=${session.session_id}&last_seq=0&token=${TOKEN}`;
      await assert.rejects(connect(`${base}&resume_secret=wrong`), /HTTP 401/);
      const next = await connect(`${base}&resume_secret=${encodeURIComponent(session.resume_secret)}`);
      await until(() => next.frames.some((f) => f.message_type === "command_execution_result_message"), "the result");
      assert.deepEqual(next.frames[0], {
        message_type: "resumed_message",
        session_id: session.session_id,
        last_client_seq: 1,
      });
      next.ws.close(1000);
      await next.closed;
      // Once ended, the session cannot be resumed.
      await until(() => server.server.connectionCount === 0, "the session to end");
      await assert.rejects(connect(`${base}&resume_secret=${encodeURIComponent(session.resume_secret)}`), /HTTP 404/);
    });
  });

  test("the resume secret never reaches the log, /health or a command's environment", async () => {
    await withServer(async (server) => {
      const { peer, session } = await resumable(server);
      peer.ws.send(commands(1, "env"));
      await until(() => peer.frames.some((f) => f.message_type === "command_execution_result_message"), "env");
      const output = JSON.stringify(peer.frames.filter((f) => f.message_type !== "session_message"));
      assert.ok(!output.includes(session.resume_secret), "not in the command's environment or output");
      peer.ws.terminate();
      await peer.closed;
      const url = `${server.url}/?resume=${session.session_id}&last_seq=0&token=${TOKEN}&resume_secret=${encodeURIComponent(session.resume_secret)}`;
      const next = await connect(url);
      const health = await (await fetch(`${server.url.replace("ws:", "http:")}/health`)).text();
      assert.ok(!health.includes(session.resume_secret));
      assert.ok(!health.includes(session.session_id));
      next.ws.close(1000);
      await next.closed;
      await until(() => server.logs.some((line) => line.startsWith("INFO session ended")), "the end");
      assert.ok(server.logs.some((line) => line.includes("connection resumed")));
      const leaked = server.logs.filter((line) => line.includes(session.resume_secret));
      assert.deepEqual(leaked, []);
    });
  });

  test("with --resume-grace 0 a client that asks gets a plain connection: no session frame and no seq", async () => {
    await withServer(async (server) => {
      const peer = await connect(`${server.url}/?resumable=1`, auth);
      peer.ws.send(commands(1, "echo plain"));
      await until(() => peer.frames.some((f) => f.message_type === "command_execution_result_message"), "the result");
      assert.deepEqual(
        peer.frames.map((f) => f.message_type),
        ["command_output_message", "command_execution_result_message"],
      );
      assert.ok(peer.frames.every((f) => !("seq" in f)));
      peer.ws.close(1000);
      await peer.closed;
    }, 0);
  });
});
