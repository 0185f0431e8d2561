import { createHash } from "node:crypto";
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";

/** One PUT the sink received in full. */
export interface ReceivedUpload {
  /** The `file` query parameter of the URL: which artifact the test meant this URL for. */
  file: string;
  contentType: string | undefined;
  contentLength: string | undefined;
  bytes: number;
  sha256: string;
  /** The body, kept only while it is small (see `keepBodiesUpTo`). */
  body?: Buffer;
  status: number;
}

export interface PutSinkOptions {
  /** Status to answer attempt `attempt` (1-based, per `file`) with; default 200. */
  status?: (file: string, attempt: number) => number;
  keepBodiesUpTo?: number;
}

/**
 * A real HTTP server on 127.0.0.1 that accepts PUTs, hashing each body as it
 * streams in (so large uploads are not held in memory).
 */
export class PutSink {
  readonly uploads: ReceivedUpload[] = [];
  /** Every request seen, failed ones included, per `file`. */
  readonly attempts = new Map<string, number>();
  private constructor(
    private readonly server: Server,
    readonly port: number,
  ) {}

  static async start(options: PutSinkOptions = {}): Promise<PutSink> {
    const keep = options.keepBodiesUpTo ?? 1024 * 1024;
    let sink: PutSink | undefined;
    const server = createServer((request: IncomingMessage, response) => {
      const url = new URL(request.url ?? "/", "http://sink");
      const file = url.searchParams.get("file") ?? url.pathname;
      const attempt = (sink?.attempts.get(file) ?? 0) + 1;
      sink?.attempts.set(file, attempt);
      const status = request.method === "PUT" ? (options.status?.(file, attempt) ?? 200) : 405;
      const hash = createHash("sha256");
      const chunks: Buffer[] = [];
      let bytes = 0;
      request.on("data", (chunk: Buffer) => {
        hash.update(chunk);
        bytes += chunk.length;
        if (bytes <= keep) chunks.push(chunk);
      });
      request.on("end", () => {
        if (status >= 200 && status < 300) {
          sink?.uploads.push({
            file,
            contentType: request.headers["content-type"],
            contentLength: request.headers["content-length"],
            bytes,
            sha256: hash.digest("hex"),
            body: bytes <= keep ? Buffer.concat(chunks) : undefined,
            status,
          });
        }
        response.writeHead(status, { "content-type": "text/plain" }).end(status < 300 ? "" : `sink says ${status}`);
      });
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    sink = new PutSink(server, (server.address() as AddressInfo).port);
    return sink;
  }

  /** A presigned-looking URL for one artifact. The query carries a fake signature, as real ones do. */
  urlFor(file: string): string {
    return `http://127.0.0.1:${this.port}/bucket/object?file=${encodeURIComponent(file)}&X-Signature=fake-signature`;
  }

  uploadsOf(file: string): ReceivedUpload[] {
    return this.uploads.filter((upload) => upload.file === file);
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

/** A URL on 127.0.0.1 where nothing listens (a port that was just freed). */
export async function deadUrl(): Promise<string> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return `http://127.0.0.1:${port}/bucket/object?X-Signature=fake`;
}

export function sha256(data: Buffer | string): string {
  return createHash("sha256").update(data).digest("hex");
}
