// The defaults of a connection's session, apart from the session's code: the
// CLI's flags and --help and the server read them without loading session/,
// which the server loads only as it starts to listen.

/** Above this many buffered outgoing bytes, producers (command output, handlers) wait. */
export const DEFAULT_SEND_HIGH_WATER_MARK = 1024 * 1024;
/** A peer that stops reading while more than this is queued for it is dropped. */
export const DEFAULT_MAX_BUFFERED_BYTES = 16 * 1024 * 1024;
/** Unacknowledged bytes a resumable session keeps for a replay. */
export const DEFAULT_REPLAY_BUFFER_BYTES = 64 * 1024 * 1024;
/** How long a dropped resumable session waits for its client to come back. 0 turns resume off. */
export const DEFAULT_RESUME_GRACE_MS = 60_000;
/** Interval between heartbeats while a request is in flight. */
export const DEFAULT_HEARTBEAT_INTERVAL_MS = 15_000;
/** How long a request waits for the previous request's runner to wind down before it starts anyway. */
export const DEFAULT_WIND_DOWN_TIMEOUT_MS = 5_000;
