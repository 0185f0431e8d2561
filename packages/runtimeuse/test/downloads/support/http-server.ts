import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

export type Route = (request: IncomingMessage, response: ServerResponse) => void;

/** A real HTTP server on 127.0.0.1, port 0, with routes by exact path (query ignored). */
export class TestHttpServer {
  readonly hits = new Map<string, number>();
  private readonly routes = new Map<string, Route>();
  private server!: Server;
  url = "";

  static async start(): Promise<TestHttpServer> {
    const instance = new TestHttpServer();
    instance.server = createServer((request, response) => {
      const path = (request.url ?? "/").split("?")[0] ?? "/";
      instance.hits.set(path, (instance.hits.get(path) ?? 0) + 1);
      const route = instance.routes.get(path);
      if (route) route(request, response);
      else {
        response.writeHead(404, { "content-type": "text/plain" });
        response.end("not found");
      }
    });
    await new Promise<void>((resolve) => instance.server.listen(0, "127.0.0.1", resolve));
    instance.url = `http://127.0.0.1:${(instance.server.address() as AddressInfo).port}`;
    return instance;
  }

  /** Serves `body` at `path`. */
  file(path: string, body: Buffer | string): string {
    this.routes.set(path, (_request, response) => {
      response.writeHead(200, {
        "content-type": "application/octet-stream",
        "content-length": Buffer.byteLength(body),
      });
      response.end(body);
    });
    return this.url + path;
  }

  redirect(path: string, location: string): string {
    this.routes.set(path, (_request, response) => {
      response.writeHead(302, { location });
      response.end();
    });
    return this.url + path;
  }

  /** Sends `first` bytes of a larger declared body, then nothing until the client goes away. */
  stall(path: string, first: Buffer): string {
    this.routes.set(path, (_request, response) => {
      response.writeHead(200, { "content-length": first.length * 100 });
      response.write(first);
    });
    return this.url + path;
  }

  route(path: string, route: Route): string {
    this.routes.set(path, route);
    return this.url + path;
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
