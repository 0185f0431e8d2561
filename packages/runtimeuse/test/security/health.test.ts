import assert from "node:assert/strict";
import { request as httpRequest } from "node:http";
import { describe, test } from "node:test";
import type { AgentHandler } from "../../src/handler.js";
import { runtimeVersion } from "../../src/version.js";
import { invocation, RawClient, waitFor } from "../support/client.js";
import { startTestServer } from "../support/server.js";

const TOKEN = "health-check-token";

function httpUrl(wsUrl: string, path: string): string {
  return `${wsUrl.replace(/^ws:/, "http:")}${path}`;
}

/** A raw HTTP request, so HEAD bodies and methods fetch() treats specially are seen as sent. */
function raw(url: string, method: string): Promise<{ status: number; body: string; headers: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { method }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => {
        body += chunk;
      });
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body, headers: res.headers }));
    });
    req.on("error", reject);
    req.end();
  });
}

describe("GET /health", () => {
  test("answers 200 JSON with status, version, uptime, connections and requests in flight, without a token", async () => {
    let release: () => void = () => {};
    const started: string[] = [];
    const handler: AgentHandler = {
      async run(inv) {
        started.push(inv.userPrompt);
        await new Promise<void>((resolve) => {
          release = resolve;
        });
        return { type: "text", text: "done" };
      },
    };
    const server = await startTestServer({ handler, token: TOKEN });
    try {
      const idle = await fetch(httpUrl(server.url, "/health"));
      assert.equal(idle.status, 200);
      assert.equal(idle.headers.get("content-type"), "application/json");
      const report = (await idle.json()) as Record<string, unknown>;
      assert.deepEqual(Object.keys(report).sort(), [
        "connections",
        "log_lines_dropped",
        "requests_in_flight",
        "status",
        "stuck_requests",
        "uptime_s",
        "version",
      ]);
      assert.equal(report.status, "ok");
      assert.equal(report.version, runtimeVersion());
      assert.ok(Number.isInteger(report.uptime_s) && (report.uptime_s as number) >= 0);
      assert.equal(report.connections, 0);
      assert.equal(report.requests_in_flight, 0);
      assert.equal(report.stuck_requests, 0);
      assert.equal(report.log_lines_dropped, 0);

      const busy = await RawClient.connect(server.url, { headers: { authorization: `Bearer ${TOKEN}` } });
      const idleClient = await RawClient.connect(`${server.url}?token=${TOKEN}`);
      busy.send(invocation({ user_prompt: "hold" }));
      await waitFor(() => started.length === 1);
      const during = (await (await fetch(httpUrl(server.url, "/health?probe=1"))).json()) as Record<string, unknown>;
      assert.equal(during.connections, 2);
      assert.equal(during.requests_in_flight, 1);
      release();
      await busy.untilTerminal();
      await Promise.all([busy.close(), idleClient.close()]);
    } finally {
      await server.close();
    }
  });

  test("HEAD /health has the headers and no body; other methods get 405", async () => {
    const server = await startTestServer({ handler: async () => ({ type: "text", text: "" }) });
    try {
      const head = await raw(httpUrl(server.url, "/health"), "HEAD");
      assert.equal(head.status, 200);
      assert.equal(head.body, "");
      const post = await raw(httpUrl(server.url, "/health"), "POST");
      assert.equal(post.status, 405);
      assert.equal(post.headers.allow, "GET, HEAD");
      assert.match(post.body, /\/health answers GET only/);
    } finally {
      await server.close();
    }
  });

  test("other plain HTTP requests get 426 saying the port speaks WebSocket", async () => {
    const server = await startTestServer({ handler: async () => ({ type: "text", text: "" }), token: TOKEN });
    try {
      for (const [path, method] of [
        ["/", "GET"],
        ["/anything?token=x", "GET"],
        ["/", "POST"],
      ] as const) {
        const response = await raw(httpUrl(server.url, path), method);
        assert.equal(response.status, 426, `${method} ${path}`);
        assert.equal(response.headers.upgrade, "websocket");
        assert.match(response.body, /runtimeuse speaks WebSocket on this port.*GET \/health for status/);
      }
    } finally {
      await server.close();
    }
  });
});
