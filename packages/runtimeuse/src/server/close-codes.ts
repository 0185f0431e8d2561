/** Which side ended a connection, for its log line. */
export type ClosedBy = "client" | "runtime" | "network";

/** What each WebSocket close code (RFC 6455 section 7.4) says, in a few words. */
const MEANINGS: Record<number, string> = {
  1000: "normal closure",
  1001: "going away",
  1002: "protocol error",
  1003: "unsupported data",
  1005: "closed without a status code",
  1006: "abnormal closure: the connection dropped without a close frame",
  1007: "invalid frame payload (text that is not UTF-8)",
  1008: "policy violation",
  1009: "message too big",
  1010: "missing extension",
  // runtimeuse-client 0.15.1 closes every call it has finished with 1011, so from a client it is routine.
  1011: "internal error on the closing side (runtimeuse-client 0.15.1 ends every call this way)",
  1012: "service restart",
  1013: "try again later",
  4001: "superseded: the session was resumed on a newer connection",
  4002: "replay gap: the frames the client needs are no longer buffered",
  4003: "the client gave up this resume attempt",
};

export function closeCodeMeaning(code: number | undefined): string {
  if (code === undefined) return "unknown";
  return MEANINGS[code] ?? (code >= 4000 && code <= 4999 ? "application-defined" : "unknown code");
}

/**
 * Who closed: the runtime when it closed or dropped the socket itself (end of
 * session, shutdown, a dead or slow peer, a frame over the limit); else the
 * network when no close frame came (1006); else the client.
 */
export function closedBy(code: number | undefined, byRuntime: boolean): ClosedBy {
  if (byRuntime) return "runtime";
  return code === 1006 || code === undefined ? "network" : "client";
}
