import type { Connection, ConnectionHandlers, ConnectTarget, Transport } from "../../src/node.js";

/**
 * An in-memory transport whose other end a test script plays, one script run
 * per connection: the client is driven through its real `Transport` seam, with
 * frames crossing as text in order and asynchronously, as on a socket.
 */

/** Bound on any wait for the client, so a broken rule fails instead of hanging. */
const WAIT_MS = 20_000;

export interface MemoryPeer {
  /** Every message the client sent on this connection, parsed, in order. */
  readonly sent: Record<string, unknown>[];
  /** The client's next message; rejects once the client closed the connection and sent nothing more. */
  next(): Promise<Record<string, unknown>>;
  /** Sends one text frame to the client. */
  send(frame: string): void;
  /** The runtime closes the connection. */
  close(code: number, reason: string): void;
  /** Resolves once either side closed the connection. */
  readonly closed: Promise<void>;
}

export interface MemoryTransport extends Transport {
  readonly peers: MemoryPeer[];
}

export function memoryTransport(script: (peer: MemoryPeer) => Promise<void>): MemoryTransport {
  const peers: MemoryPeer[] = [];
  return {
    peers,
    async connect(_target: ConnectTarget, handlers: ConnectionHandlers): Promise<Connection> {
      const { peer, connection } = link(handlers);
      peers.push(peer);
      void script(peer).catch((error: unknown) => {
        console.error("memory transport script failed:", error);
        peer.close(1011, "script failed");
      });
      return connection;
    },
  };
}

function link(handlers: ConnectionHandlers): { peer: MemoryPeer; connection: Connection } {
  const sent: Record<string, unknown>[] = [];
  const unread: Record<string, unknown>[] = [];
  let waiter: { resolve: (message: Record<string, unknown>) => void; reject: (error: Error) => void } | undefined;
  /** Cleared when either side starts closing; frames already on their way still arrive. */
  let open = true;
  let ended = false;
  let markClosed = () => {};
  const closed = new Promise<void>((resolve) => {
    markClosed = resolve;
  });
  const shut = (code: number, reason: string) => {
    if (!open) return;
    open = false;
    markClosed();
    // After the messages already on their way.
    queueMicrotask(() => {
      ended = true;
      waiter?.reject(new Error("the connection is closed"));
      waiter = undefined;
      handlers.onClose(code, reason);
    });
  };
  const peer: MemoryPeer = {
    sent,
    closed,
    next() {
      const message = unread.shift();
      if (message) return Promise.resolve(message);
      if (!open) return Promise.reject(new Error("the connection is closed"));
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error("memory transport: no message from the client")), WAIT_MS);
        waiter = {
          resolve: (value) => {
            clearTimeout(timer);
            resolve(value);
          },
          reject: (error) => {
            clearTimeout(timer);
            reject(error);
          },
        };
      });
    },
    send(frame) {
      if (open) queueMicrotask(() => ended || handlers.onMessage(frame));
    },
    close: (code, reason) => shut(code, reason),
  };
  const connection: Connection = {
    send(frame) {
      if (!open) throw new Error("the connection is not open");
      const message = JSON.parse(frame) as Record<string, unknown>;
      sent.push(message);
      queueMicrotask(() => {
        if (waiter) {
          const current = waiter;
          waiter = undefined;
          current.resolve(message);
        } else unread.push(message);
      });
    },
    close: () => shut(1000, ""),
  };
  return { peer, connection };
}
