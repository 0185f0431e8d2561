import type { IncomingMessage } from "node:http";
import { STATUS_CODES } from "node:http";
import type { Duplex } from "node:stream";
import { TOKEN_QUERY_PARAM, TokenCheck } from "./auth.js";
import { AuthThrottle, type AuthThrottleOptions } from "./throttle.js";

export const DEFAULT_MAX_CONNECTIONS = 1024;

export interface AdmissionOptions {
  /** When set, every upgrade must carry it (see `TokenCheck`). */
  token?: string;
  maxConnections?: number;
  authThrottle?: AuthThrottleOptions;
}

export type Refusal = {
  status: 400 | 401 | 404 | 429 | 503;
  /** What the client reads in the response body. */
  message: string;
  headers: Record<string, string>;
  /** Why, for the log line; never includes what the client presented. */
  reason:
    | "stopping"
    | "unavailable"
    | "throttled"
    | "missing_token"
    | "wrong_token"
    | "connection_limit"
    | "invalid_resume"
    | "unknown_session"
    | "wrong_resume_secret";
};

/**
 * Decides whether an upgrade becomes a WebSocket. Every refusal happens here,
 * as a plain HTTP response, before any WebSocket or session exists.
 *
 * Order: a stopping runtime refuses everyone; a locked-out address is refused
 * without its token being checked; then the token; then the connection cap,
 * so only authenticated clients learn that the runtime is full.
 */
export class Admission {
  private readonly tokenCheck: TokenCheck | undefined;
  private readonly throttle: AuthThrottle;
  readonly maxConnections: number;

  constructor(options: AdmissionOptions) {
    this.tokenCheck = options.token === undefined ? undefined : new TokenCheck(options.token);
    this.throttle = new AuthThrottle(options.authThrottle);
    this.maxConnections = options.maxConnections ?? DEFAULT_MAX_CONNECTIONS;
  }

  get requiresToken(): boolean {
    return this.tokenCheck !== undefined;
  }

  /**
   * `undefined` admits the upgrade. A resume (`resuming`) is not held to the
   * connection cap: its session is already counted.
   */
  decide(request: IncomingMessage, openConnections: number, stopping: boolean, resuming = false): Refusal | undefined {
    if (stopping) {
      return refusal(503, "stopping", "the runtime is shutting down", { "retry-after": "5" });
    }
    if (this.tokenCheck) {
      const address = request.socket.remoteAddress ?? "unknown";
      const waitMs = this.throttle.retryAfterMs(address);
      if (waitMs > 0) {
        const seconds = Math.ceil(waitMs / 1000);
        return refusal(429, "throttled", `too many failed authentication attempts; retry in ${seconds} s`, {
          "retry-after": String(seconds),
        });
      }
      const outcome = this.tokenCheck.check(request);
      if (!outcome.ok) {
        this.throttle.recordFailure(address);
        const challenge = { "www-authenticate": 'Bearer realm="runtimeuse"' };
        return outcome.reason === "missing"
          ? refusal(
              401,
              "missing_token",
              `a token is required: send "Authorization: Bearer <token>" or ?${TOKEN_QUERY_PARAM}=<token>`,
              challenge,
            )
          : refusal(401, "wrong_token", "the token is not valid", challenge);
      }
      this.throttle.recordSuccess(address);
    }
    if (!resuming && openConnections >= this.maxConnections) {
      return refusal(503, "connection_limit", `the runtime is at its limit of ${this.maxConnections} connections`, {
        "retry-after": "1",
      });
    }
    return undefined;
  }
}

export function refusal(
  status: Refusal["status"],
  reason: Refusal["reason"],
  message: string,
  headers: Record<string, string>,
): Refusal {
  return { status, reason, message, headers };
}

/** Answers an upgrade request with a plain HTTP error and closes the socket. */
export function refuseUpgrade(socket: Duplex, refused: Refusal): void {
  if (!socket.writable) {
    socket.destroy();
    return;
  }
  const body = `${refused.message}\n`;
  const head = [
    `HTTP/1.1 ${refused.status} ${STATUS_CODES[refused.status] ?? ""}`,
    "Connection: close",
    "Content-Type: text/plain; charset=utf-8",
    `Content-Length: ${Buffer.byteLength(body)}`,
    ...Object.entries(refused.headers).map(([name, value]) => `${name}: ${value}`),
  ];
  socket.once("finish", () => socket.destroy());
  socket.end(`${head.join("\r\n")}\r\n\r\n${body}`);
}
