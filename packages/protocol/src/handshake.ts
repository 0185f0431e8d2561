/**
 * The names of the resume handshake (docs/PROTOCOL.md, "Resumable
 * connections"): query parameters, the secret's header and the close codes.
 * Plain values, apart from resume.ts's schemas, so that code which only reads
 * an upgrade request does not load zod.
 */

/** Query parameter that asks for a resumable connection (`?resumable=1`). */
export const RESUMABLE_PARAM = "resumable";
/** Query parameter naming the session to resume. */
export const RESUME_PARAM = "resume";
/** Query parameter with the last `seq` the client has (0 for none). */
export const LAST_SEQ_PARAM = "last_seq";
/** Header carrying the resume secret (lower case, as Node reports headers). */
export const RESUME_SECRET_HEADER = "runtimeuse-resume-secret";
/** Query parameter carrying the resume secret for transports that cannot send headers. */
export const RESUME_SECRET_PARAM = "resume_secret";

/** WebSocket close codes of resumable connections (listed in docs/ERRORS.md). */
export const ResumeCloseCode = {
  /** A newer connection resumed this session; this one is closed. */
  Superseded: 4001,
  /** The frames the client needs were dropped from the replay buffer; the session ends. */
  ReplayGap: 4002,
  /**
   * From the client: it gave up this resume attempt (no `resumed_message` in
   * time). A browser cannot drop a connection without a close frame; like any
   * code but 1000, this one leaves the session waiting for the next attempt.
   */
  AttemptDropped: 4003,
} as const;
