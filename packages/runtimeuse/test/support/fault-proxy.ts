import { connect, createServer, type Server, type Socket } from "node:net";

/** How the proxy breaks the connections it carries. */
export type Cut = "close" | "reset" | "stall";

interface Pair {
  client: Socket;
  upstream: Socket;
  stalled: boolean;
}

/**
 * A TCP proxy on 127.0.0.1 between a client and the runtime that breaks the
 * connections it carries on demand, the ways networks do:
 *
 * - `close`: both sides get a FIN (no WebSocket close frame);
 * - `reset`: both sides get a RST;
 * - `stall`: nothing more is forwarded either way and nothing is closed, so
 *   only pings can tell (the sockets are destroyed when the proxy closes).
 *
 * New connections are forwarded normally unless `refuse` is set, when they
 * are reset at once (the runtime is unreachable).
 */
export class FaultProxy {
  private readonly pairs = new Set<Pair>();
  /** Every socket still open on either side, whatever became of its pair. */
  private readonly sockets = new Set<Socket>();
  /** Connections accepted so far. */
  connections = 0;
  refuse = false;
  private constructor(
    private readonly server: Server,
    readonly port: number,
  ) {}

  static async start(targetPort: number): Promise<FaultProxy> {
    let proxy: FaultProxy | undefined;
    const server = createServer((client) => proxy?.carry(client, targetPort));
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const address = server.address();
    if (address === null || typeof address === "string") throw new Error("the proxy has no port");
    proxy = new FaultProxy(server, address.port);
    return proxy;
  }

  get url(): string {
    return `ws://127.0.0.1:${this.port}`;
  }

  /** Connections being forwarded now (not stalled). */
  get live(): number {
    return [...this.pairs].filter((pair) => !pair.stalled).length;
  }

  /** Breaks every connection being forwarded now. Returns how many it broke. */
  cut(kind: Cut): number {
    let broken = 0;
    for (const pair of this.pairs) {
      if (pair.stalled) continue;
      broken++;
      switch (kind) {
        case "close":
          this.pairs.delete(pair);
          pair.client.end();
          pair.upstream.end();
          break;
        case "reset":
          this.pairs.delete(pair);
          pair.client.resetAndDestroy();
          pair.upstream.resetAndDestroy();
          break;
        case "stall":
          pair.stalled = true;
          pair.client.unpipe(pair.upstream);
          pair.upstream.unpipe(pair.client);
          pair.client.pause();
          pair.upstream.pause();
          break;
      }
    }
    return broken;
  }

  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    this.pairs.clear();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private track(socket: Socket): void {
    this.sockets.add(socket);
    socket.on("error", () => {});
    socket.on("close", () => this.sockets.delete(socket));
  }

  private carry(client: Socket, targetPort: number): void {
    this.connections++;
    this.track(client);
    if (this.refuse) {
      client.resetAndDestroy();
      return;
    }
    const upstream = connect(targetPort, "127.0.0.1");
    this.track(upstream);
    const pair: Pair = { client, upstream, stalled: false };
    this.pairs.add(pair);
    client.pipe(upstream);
    upstream.pipe(client);
    const drop = () => {
      // A stalled pair keeps its other side open: only pings can tell it is dead.
      if (pair.stalled) return;
      this.pairs.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    client.on("close", drop);
    upstream.on("close", drop);
  }
}
