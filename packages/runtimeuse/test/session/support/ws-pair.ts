import { once } from "node:events";
import type { AddressInfo, Socket } from "node:net";
import { WebSocket, WebSocketServer } from "ws";

/**
 * A real `ws` server and client on loopback: `socket` is the server side's
 * byte stream (the upgrade request's socket, the one `ws` writes to), and
 * `received` what the client's `ws` has read from it, as text.
 */
export async function wsPair(): Promise<{
  socket: Socket;
  client: WebSocket;
  received: string[];
  close: () => Promise<void>;
}> {
  const server = new WebSocketServer({ port: 0, host: "127.0.0.1" });
  await once(server, "listening");
  const accepted = once(server, "connection");
  const client = new WebSocket(`ws://127.0.0.1:${(server.address() as AddressInfo).port}`);
  const received: string[] = [];
  client.on("message", (data) => received.push(String(data)));
  await once(client, "open");
  const [serverSide, request] = (await accepted) as [WebSocket, { socket: Socket }];
  return {
    socket: request.socket,
    client,
    received,
    close: async () => {
      client.terminate();
      serverSide.terminate();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** Resolves once `condition` holds, checking after each turn of the event loop. */
export async function until(condition: () => boolean): Promise<void> {
  while (!condition()) await new Promise((resolve) => setImmediate(resolve));
}
