import { createServer, type IncomingMessage } from "node:http";
import type { AddressInfo } from "node:net";
import { type WebSocket, WebSocketServer } from "ws";

/**
 * A WebSocket server on 127.0.0.1 whose every move the test scripts: for
 * runtime behaviour the real runtime does not (or must not) produce, such as
 * malformed frames, or features another package has not landed yet.
 */

/** Generous bound on any single wait in a scripted exchange; a hang fails the test instead of the run. */
const WAIT_MS = 20_000;

export interface Peer {
  /** The HTTP upgrade request (headers, url). */
  request: IncomingMessage;
  /** The next frame the client sent, parsed as JSON. */
  next(): Promise<Record<string, unknown>>;
  send(message: Record<string, unknown>): void;
  sendRaw(data: string | Buffer, binary?: boolean): void;
  close(code?: number, reason?: string): void;
  /** Resolves with the close code once the connection is closed. */
  closed: Promise<number>;
}

export interface ScriptedServer {
  url: string;
  /** Every connection so far, in order. */
  peers: Peer[];
  /** Resolves with the n-th connection (0-based) once it exists. */
  peer(index: number): Promise<Peer>;
  close(): Promise<void>;
}

export interface ScriptedServerOptions {
  /** Answer the upgrade with this HTTP status instead of accepting it. */
  refuseWith?: number;
  /** Never answer the upgrade (for connect timeouts). */
  hangUpgrade?: boolean;
  /** Awaited before the n-th upgrade (0-based) is answered: holds a handshake as long as the test wants. */
  holdUpgrade?: (index: number) => Promise<void> | void;
}

function makePeer(ws: WebSocket, request: IncomingMessage): Peer {
  const frames: Record<string, unknown>[] = [];
  const waiters: Array<(frame: Record<string, unknown>) => void> = [];
  ws.on("message", (data) => {
    const frame = JSON.parse(String(data)) as Record<string, unknown>;
    const waiter = waiters.shift();
    if (waiter) waiter(frame);
    else frames.push(frame);
  });
  const closed = new Promise<number>((resolve) => ws.on("close", (code) => resolve(code)));
  return {
    request,
    closed,
    next() {
      const frame = frames.shift();
      if (frame) return Promise.resolve(frame);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error("scripted server: no frame from the client")), WAIT_MS);
        waiters.push((value) => {
          clearTimeout(timer);
          resolve(value);
        });
      });
    },
    send: (message) => ws.send(JSON.stringify(message)),
    sendRaw: (data, binary = false) => ws.send(data, { binary }),
    close: (code = 1000, reason = "") => ws.close(code, reason),
  };
}

export async function startScriptedServer(
  script: (peer: Peer) => void | Promise<void> = () => {},
  options: ScriptedServerOptions = {},
): Promise<ScriptedServer> {
  const http = createServer();
  const wss = new WebSocketServer({ noServer: true });
  const peers: Peer[] = [];
  const arrivals: Array<() => void> = [];
  const hanging = new Set<import("node:stream").Duplex>();
  let upgrades = 0;
  http.on("upgrade", async (request, socket, head) => {
    const index = upgrades++;
    await options.holdUpgrade?.(index);
    if (options.hangUpgrade) {
      hanging.add(socket);
      return;
    }
    if (options.refuseWith !== undefined) {
      socket.end(`HTTP/1.1 ${options.refuseWith} Refused\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
      return;
    }
    wss.handleUpgrade(request, socket, head, (ws) => {
      const peer = makePeer(ws, request);
      peers.push(peer);
      for (const wake of arrivals.splice(0)) wake();
      void Promise.resolve(script(peer)).catch((error: unknown) => {
        console.error("scripted server script failed:", error);
        ws.terminate();
      });
    });
  });
  await new Promise<void>((resolve) => http.listen(0, "127.0.0.1", resolve));
  const { port } = http.address() as AddressInfo;
  return {
    url: `ws://127.0.0.1:${port}`,
    peers,
    async peer(index) {
      const deadline = Date.now() + WAIT_MS;
      while (peers[index] === undefined) {
        if (Date.now() > deadline) throw new Error(`scripted server: connection ${index} never arrived`);
        await new Promise<void>((resolve) => {
          arrivals.push(resolve);
          setTimeout(resolve, 100);
        });
      }
      return peers[index] as Peer;
    },
    async close() {
      for (const socket of hanging) socket.destroy();
      for (const client of wss.clients) client.terminate();
      wss.close();
      http.closeAllConnections();
      await new Promise<void>((resolve) => http.close(() => resolve()));
    },
  };
}

/** Reads the client's next frame and checks its type. */
export async function expectFrame(peer: Peer, type: string): Promise<Record<string, unknown>> {
  const frame = await peer.next();
  if (frame.message_type !== type) {
    throw new Error(`scripted server: expected ${type}, got ${JSON.stringify(frame).slice(0, 200)}`);
  }
  return frame;
}

/** Announces a resumable session (`session_message`) as the runtime does on a `?resumable=1` connection. */
export function announceSession(peer: Peer, sessionId = "sid"): void {
  peer.send({
    message_type: "session_message",
    session_id: sessionId,
    resume_secret: "secret",
    resume_grace_ms: 30_000,
    replay_buffer_bytes: 1 << 20,
  });
}
