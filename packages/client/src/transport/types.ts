/**
 * How the client reaches a runtime. A transport opens connections; each
 * connection carries whole text frames both ways. The client does everything
 * else (validation, requests, timeouts), so a transport stays small: the Node
 * one wraps `ws`, the standard one wraps the WHATWG `WebSocket`, and tests or
 * unusual environments can bring their own.
 */

/** Where and how to connect. */
export interface ConnectTarget {
  /** `ws://` or `wss://` URL of the runtime. */
  url: string;
  /** Bearer token; the transport decides how it travels (header or `?token=`). */
  token?: string;
  /** Extra HTTP headers for the opening handshake, where the transport can send them. */
  headers?: Record<string, string>;
  /** Largest incoming frame accepted, in bytes. */
  maxFrameBytes: number;
  /** Fires when the caller gives up (connect timeout, abort): the attempt must stop and reject. */
  signal: AbortSignal;
}

/**
 * What a connection reports. The transport installs these before `connect`
 * resolves, so no frame can arrive unobserved. After `onClose`, nothing more
 * is reported.
 */
export interface ConnectionHandlers {
  /** One whole frame: a string for a text frame, bytes for a binary frame. */
  onMessage(data: string | Uint8Array): void;
  /** The connection closed (either side, or lost: code 1006). Called once. */
  onClose(code: number, reason: string): void;
  /**
   * A transport-level failure; `onClose` follows. A `ProtocolViolationError`
   * here (say, a frame over `maxFrameBytes` that the transport refused) becomes
   * the reason the connection ended.
   */
  onError(error: Error): void;
}

/** One open connection. */
export interface Connection {
  /** Queues one text frame. Throws when the connection is no longer open. */
  send(frame: string): void;
  /** Starts a normal closure (1000). Safe to call more than once. */
  close(): void;
  /**
   * Optional: ends the connection without ending the runtime's session (no
   * close frame, or a close code other than 1000), for a resume attempt that
   * is given up. A transport without it leaves such a connection to its pings.
   */
  drop?(): void;
  /**
   * Optional flow control: stop reading frames until `resume()`, so a slow
   * consumer pushes back on the runtime instead of buffering without limit.
   */
  pause?(): void;
  resume?(): void;
}

export interface Transport {
  /**
   * True when `headers` reach the runtime with the handshake; resume secrets
   * then travel as a header instead of in the URL.
   */
  readonly sendsHeaders?: boolean;
  /** Opens one connection; rejects with a `ConnectionError` (or the signal's reason) on failure. */
  connect(target: ConnectTarget, handlers: ConnectionHandlers): Promise<Connection>;
}
