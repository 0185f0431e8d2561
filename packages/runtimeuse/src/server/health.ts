import type { IncomingMessage, ServerResponse } from "node:http";
import { runtimeVersion } from "../version.js";

export const HEALTH_PATH = "/health";

/** The body of `GET /health`. */
export interface HealthReport {
  /** `unavailable`: the runtime could not load its session code and refuses every connection (its log says why). */
  status: "ok" | "stopping" | "unavailable";
  version: string;
  uptime_s: number;
  connections: number;
  requests_in_flight: number;
  /** Requests whose handler went on running after its connection ended (past the kill grace and the wind-down); not counted in `connections`. */
  stuck_requests: number;
  /** Log lines lost because the log's destination failed (its reader went away, a full disk). */
  log_lines_dropped: number;
}

export interface HealthSource {
  stopping: boolean;
  unavailable: boolean;
  startedAt: number;
  connectionCount: number;
  requestsInFlight: number;
  stuckRequests: number;
  logLinesDropped: number;
}

export function healthReport(source: HealthSource, now = performance.now()): HealthReport {
  return {
    status: source.stopping ? "stopping" : source.unavailable ? "unavailable" : "ok",
    version: runtimeVersion(),
    uptime_s: Math.max(0, Math.floor((now - source.startedAt) / 1000)),
    connections: source.connectionCount,
    requests_in_flight: source.requestsInFlight,
    stuck_requests: source.stuckRequests,
    log_lines_dropped: source.logLinesDropped,
  };
}

/**
 * Answers plain HTTP on the WebSocket port. `GET /health` needs no token (it
 * says nothing a prober could misuse) and is 200 while serving, 503 while
 * stopping or unable to serve. Everything else is a 4xx that says what the port is for.
 */
export function answerPlainRequest(request: IncomingMessage, response: ServerResponse, source: HealthSource): void {
  const path = (request.url ?? "/").split("?")[0];
  const method = request.method ?? "GET";
  if (path === HEALTH_PATH) {
    if (method !== "GET" && method !== "HEAD") {
      reply(response, 405, { allow: "GET, HEAD" }, `${HEALTH_PATH} answers GET only\n`);
      return;
    }
    const report = healthReport(source);
    const body = `${JSON.stringify(report)}\n`;
    response.writeHead(report.status === "ok" ? 200 : 503, {
      "content-type": "application/json",
      "content-length": Buffer.byteLength(body),
      "cache-control": "no-store",
    });
    response.end(method === "HEAD" ? undefined : body);
    return;
  }
  reply(
    response,
    426,
    { upgrade: "websocket" },
    `runtimeuse speaks WebSocket on this port: connect with a WebSocket client (GET ${HEALTH_PATH} for status)\n`,
  );
}

function reply(response: ServerResponse, status: number, headers: Record<string, string>, body: string): void {
  response.writeHead(status, {
    ...headers,
    "content-type": "text/plain; charset=utf-8",
    "content-length": Buffer.byteLength(body),
    connection: "close",
  });
  response.end(body);
}
