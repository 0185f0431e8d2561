import { ClientErrorCode, type ErrorCode } from "@runtimeuse/protocol";

/**
 * Every error this client throws is a `RuntimeUseClientError`, except errors
 * thrown by the caller's own callbacks, which are rethrown unchanged.
 *
 * `AgentRuntimeError` is the only one that crossed the wire: it carries the
 * runtime's `error_message`. The others are local and say what went wrong on
 * this side of the connection.
 */
export class RuntimeUseClientError extends Error {
  override name = "RuntimeUseClientError";
}

/** The runtime ended the request with an `error_message`. */
export class AgentRuntimeError extends RuntimeUseClientError {
  override name = "AgentRuntimeError";
  /** The runtime's `error` text. */
  readonly error: string;
  /** The runtime's `metadata` object (`{}` when it sent none). */
  readonly metadata: Record<string, unknown>;
  /** `metadata.code` when the runtime sent a string there (a stable snake_case code such as `command_failed`). */
  readonly code: string | undefined;

  constructor(error: string, metadata: Record<string, unknown> = {}) {
    super(error);
    this.error = error;
    this.metadata = metadata;
    this.code = typeof metadata.code === "string" ? metadata.code : undefined;
  }
}

/** The request was cancelled through `abort()` or an `AbortSignal`. */
export class CancelledError extends RuntimeUseClientError {
  override name = "CancelledError";
  /** The abort signal's reason, when one was given. */
  readonly reason: unknown;

  constructor(message: string, reason?: unknown) {
    super(message);
    this.reason = reason;
  }
}

/** The option that bounded the wait that ran out. */
export type TimeoutName =
  | "timeout"
  | "idleTimeout"
  | "connectTimeout"
  | "closeTimeout"
  | "assistantCallbackTimeout"
  | "artifactUploadCallbackTimeout";

/** A wait ran out; `which` names the option that bounded it. */
export class TimeoutError extends RuntimeUseClientError {
  override name = "TimeoutError";
  readonly which: TimeoutName;
  /** The limit that passed, in milliseconds. */
  readonly timeoutMs: number;

  constructor(which: TimeoutName, timeoutMs: number, message: string) {
    super(message);
    this.which = which;
    this.timeoutMs = timeoutMs;
  }
}

/**
 * The runtime sent something this client cannot accept: a frame that is not
 * JSON, fails the protocol schema, is binary or too large, or a message that
 * makes no sense at that point. The connection is closed, since later frames
 * could no longer be matched to requests.
 */
export class ProtocolViolationError extends RuntimeUseClientError {
  override name = "ProtocolViolationError";
  /**
   * What was wrong: the protocol's frame-level code (`invalid_json`,
   * `not_an_object`, `unknown_message_type`, `invalid_field`, `binary_frame`)
   * or a client-side one (`frame_too_large`, `unexpected_message`).
   */
  readonly code: ErrorCode | ClientErrorCode;
  /** Dotted path of the offending field, when one field is to blame. */
  readonly field: string | undefined;
  /** The start of the offending frame (at most 200 characters), when it was text. */
  readonly frame: string | undefined;

  constructor(message: string, details: { code: ErrorCode | ClientErrorCode; field?: string; frame?: string }) {
    super(message);
    this.code = details.code;
    this.field = details.field;
    this.frame = details.frame;
  }
}

/** Connecting failed, or the connection closed before the awaited answer arrived. */
export class ConnectionError extends RuntimeUseClientError {
  override name = "ConnectionError";
  /**
   * `connect_failed`, `connection_closed` (the default), `session_out_of_step`
   * (the runtime did not end a stopped request within `drainTimeout`),
   * `too_many_queued_messages` or `connection_lost` (`ConnectionLostError`).
   */
  readonly code: ClientErrorCode;
  /** The WebSocket close code, when the connection was closed. */
  readonly closeCode: number | undefined;
  /** The WebSocket close reason, when one was given. */
  readonly closeReason: string | undefined;
  /** The HTTP status that refused the connection, when the transport reports it. */
  readonly status: number | undefined;

  constructor(
    message: string,
    details: {
      code?: ClientErrorCode;
      closeCode?: number;
      closeReason?: string;
      status?: number;
      cause?: unknown;
    } = {},
  ) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.code = details.code ?? ClientErrorCode.ConnectionClosed;
    this.closeCode = details.closeCode;
    this.closeReason = details.closeReason;
    this.status = details.status;
  }
}

/**
 * A resumable connection dropped and could not be resumed: the attempts ran
 * out, the runtime's grace window passed, or the runtime refused the resume.
 * `code` is `connection_lost`; `cause` is the last failure.
 */
export class ConnectionLostError extends ConnectionError {
  override name = "ConnectionLostError";
  /** Reconnect attempts made. */
  readonly attempts: number;
  /** Milliseconds from the drop to giving up. */
  readonly elapsedMs: number;

  constructor(message: string, details: { attempts: number; elapsedMs: number; cause?: unknown }) {
    super(message, {
      code: ClientErrorCode.ConnectionLost,
      ...(details.cause === undefined ? {} : { cause: details.cause }),
    });
    this.attempts = details.attempts;
    this.elapsedMs = details.elapsedMs;
  }
}

/** A session was used after `close()` was called or after its connection ended. */
export class SessionClosedError extends RuntimeUseClientError {
  override name = "SessionClosedError";
}

/** An option or argument is invalid; the message names it. Nothing was sent. */
export class InvalidOptionsError extends RuntimeUseClientError {
  override name = "InvalidOptionsError";
}
