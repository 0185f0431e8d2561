import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

/** One request a scripted model server received. */
export interface RecordedRequest {
  method: string;
  path: string;
  headers: IncomingMessage["headers"];
  /** The JSON body, or undefined when it was not JSON. */
  body: Record<string, unknown> | undefined;
  /** Set when the client dropped the connection before the response was complete. */
  clientClosed: boolean;
}

export type Route = (request: RecordedRequest, response: ServerResponse) => void | Promise<void>;

export interface ScriptedServer {
  /** `http://127.0.0.1:PORT` */
  origin: string;
  requests: RecordedRequest[];
  close(): Promise<void>;
}

const MAX_BODY_BYTES = 32 * 1024 * 1024;

/** `GET` here returns every request recorded so far, as JSON (for tests in other languages). */
export const REQUESTS_PATH = "/__scripted/requests";

/**
 * A loopback HTTP server for scripted model APIs: records every request (JSON
 * body parsed) and hands it to `route`; `GET /__scripted/requests` lists them. `close()` also ends responses still
 * open (a model reply held back on purpose).
 */
export async function startScriptedHttp(route: Route): Promise<ScriptedServer> {
  const requests: RecordedRequest[] = [];
  const server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of req) {
      size += (chunk as Buffer).length;
      if (size > MAX_BODY_BYTES) {
        res.writeHead(413).end();
        return;
      }
      chunks.push(chunk as Buffer);
    }
    let body: Record<string, unknown> | undefined;
    try {
      body = JSON.parse(Buffer.concat(chunks).toString("utf8")) as Record<string, unknown>;
    } catch {
      body = undefined;
    }
    if (req.method === "GET" && req.url === REQUESTS_PATH) {
      writeJson(res, 200, requests);
      return;
    }
    const recorded: RecordedRequest = {
      method: req.method ?? "GET",
      path: req.url ?? "/",
      headers: req.headers,
      body,
      clientClosed: false,
    };
    requests.push(recorded);
    res.on("close", () => {
      if (!res.writableFinished) recorded.clientClosed = true;
    });
    try {
      await route(recorded, res);
    } catch (error) {
      if (!res.headersSent) res.writeHead(500, { "content-type": "application/json" });
      res.end(JSON.stringify({ error: { message: `scripted server failed: ${String(error)}` } }));
    }
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    origin: `http://127.0.0.1:${port}`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Writes one server-sent event. */
export function writeSse(response: ServerResponse, event: string, data: unknown): void {
  response.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
}

export function writeJson(response: ServerResponse, status: number, body: unknown): void {
  response.writeHead(status, { "content-type": "application/json" });
  response.end(JSON.stringify(body));
}

/** Splits text into a few pieces, so replies stream as several deltas like real ones. */
export function chunks(text: string, size = 8): string[] {
  const out: string[] = [];
  for (let at = 0; at < text.length; at += size) out.push(text.slice(at, at + size));
  return out.length > 0 ? out : [""];
}
