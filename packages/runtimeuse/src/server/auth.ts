import { createHash, timingSafeEqual } from "node:crypto";
import type { IncomingMessage } from "node:http";
import { RESUME_SECRET_PARAM } from "@runtimeuse/protocol";

/** The environment variable the CLI reads the token from; never passed on to child processes. */
export const TOKEN_ENV = "RUNTIMEUSE_TOKEN";

/** The query parameter a client without custom headers (the Python client) carries the token in. */
export const TOKEN_QUERY_PARAM = "token";

export type AuthOutcome = { ok: true } | { ok: false; reason: "missing" | "wrong" };

function digest(value: string): Buffer {
  return createHash("sha256").update(value, "utf8").digest();
}

/**
 * Checks the token an upgrade request carries, as `Authorization: Bearer
 * <token>` or `?token=<token>`. Either form is accepted when it matches: a
 * proxy in front of the sandbox may use the Authorization header for its own
 * credentials while the client puts ours in the URL.
 *
 * Comparison is on SHA-256 digests with `timingSafeEqual`, so neither the
 * token's length nor a matching prefix shows in the response time.
 */
export class TokenCheck {
  private readonly expected: Buffer;

  constructor(token: string) {
    if (token.length === 0) throw new Error("the auth token must not be empty");
    this.expected = digest(token);
  }

  check(request: Pick<IncomingMessage, "headers" | "url">): AuthOutcome {
    const presented = presentedTokens(request);
    if (presented.length === 0) return { ok: false, reason: "missing" };
    // Every candidate is compared, so the time taken does not say which one matched.
    let matched = false;
    for (const candidate of presented) {
      if (timingSafeEqual(digest(candidate), this.expected)) matched = true;
    }
    return matched ? { ok: true } : { ok: false, reason: "wrong" };
  }
}

/** The tokens a request presents, at most one per form. */
export function presentedTokens(request: Pick<IncomingMessage, "headers" | "url">): string[] {
  const tokens: string[] = [];
  const header = request.headers.authorization;
  if (typeof header === "string") {
    const match = /^Bearer[ \t]+(\S.*?)[ \t]*$/i.exec(header);
    if (match?.[1]) tokens.push(match[1]);
  }
  const fromQuery = queryToken(request.url);
  if (fromQuery) tokens.push(fromQuery);
  return tokens;
}

function queryToken(url: string | undefined): string | undefined {
  if (url === undefined || !url.includes("?")) return undefined;
  try {
    return new URLSearchParams(url.slice(url.indexOf("?") + 1)).get(TOKEN_QUERY_PARAM) ?? undefined;
  } catch {
    return undefined;
  }
}

/** Query parameters whose values are credentials: the token and a resume secret. */
const SECRET_QUERY_PARAMS = new Set([TOKEN_QUERY_PARAM, RESUME_SECRET_PARAM]);

/**
 * A request target safe to log: every query parameter whose decoded name is
 * `token` or `resume_secret` (the names the checks decode too) has its value
 * replaced, and the result is bounded in length.
 */
export function redactUrlToken(url: string | undefined, maxLength = 200): string {
  if (url === undefined) return "";
  const at = url.indexOf("?");
  let safe = url;
  if (at >= 0) {
    const parts = url
      .slice(at + 1)
      .split("&")
      .map((part) => {
        const eq = part.indexOf("=");
        const rawName = eq >= 0 ? part.slice(0, eq) : part;
        return SECRET_QUERY_PARAMS.has(decodedName(rawName)) ? `${rawName}=[REDACTED]` : part;
      });
    safe = `${url.slice(0, at)}?${parts.join("&")}`;
  }
  return safe.length > maxLength ? `${safe.slice(0, maxLength)}...` : safe;
}

function decodedName(raw: string): string {
  try {
    return decodeURIComponent(raw.replace(/\+/g, " "));
  } catch {
    return raw;
  }
}

/** True for addresses only this machine can reach. */
export function isLoopbackHost(host: string): boolean {
  const bare = host.replace(/^\[|\]$/g, "").toLowerCase();
  return bare === "localhost" || bare === "::1" || /^127\.\d+\.\d+\.\d+$/.test(bare) || bare === "::ffff:127.0.0.1";
}
