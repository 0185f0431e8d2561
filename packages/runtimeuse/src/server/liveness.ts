import type { WebSocket } from "ws";

export const DEFAULT_PING_INTERVAL_MS = 30_000;

/**
 * Finds dead peers with WebSocket ping/pong. Every `intervalMs` each tracked
 * socket that answered the previous ping is pinged again; one that did not is
 * terminated. A termination closes the socket like any disconnect, so its
 * session cancels the request in flight and kills its processes.
 *
 * A peer is therefore dropped between one and two intervals after its last pong.
 */
export class Liveness {
  private readonly answered = new Map<WebSocket, boolean>();
  private timer: NodeJS.Timeout | undefined;
  /** One pong and one close listener for every socket (`this` is the socket), not two closures each. */
  private readonly ponged: (this: WebSocket) => void;
  private readonly gone: (this: WebSocket) => void;

  constructor(
    private readonly intervalMs: number,
    private readonly onDead: (socket: WebSocket) => void,
  ) {
    const answered = this.answered;
    this.ponged = function (this: WebSocket) {
      if (answered.has(this)) answered.set(this, true);
    };
    this.gone = function (this: WebSocket) {
      answered.delete(this);
    };
  }

  track(socket: WebSocket): void {
    this.answered.set(socket, true);
    socket.on("pong", this.ponged);
    socket.once("close", this.gone);
    if (this.timer === undefined) {
      this.timer = setInterval(() => this.sweep(), this.intervalMs);
      this.timer.unref();
    }
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    this.answered.clear();
  }

  private sweep(): void {
    for (const [socket, answered] of this.answered) {
      if (socket.readyState !== socket.OPEN) continue;
      if (!answered) {
        this.answered.delete(socket);
        this.onDead(socket);
        socket.terminate();
        continue;
      }
      this.answered.set(socket, false);
      try {
        socket.ping();
      } catch {
        // The socket closed between the check and the ping; its close event cleans up.
      }
    }
  }
}
