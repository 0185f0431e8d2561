/**
 * Stable codes for everything that can go wrong on the wire. They travel in
 * `error_message.metadata.code`; docs/ERRORS.md lists each one.
 */
export const ErrorCode = {
  /** The frame is not valid UTF-8 text or not JSON. */
  InvalidJson: "invalid_json",
  /** The frame is JSON, but not a JSON object. */
  NotAnObject: "not_an_object",
  /** The object has no string `message_type`, or one this runtime does not know. */
  UnknownMessageType: "unknown_message_type",
  /** A field is missing or has the wrong type. */
  InvalidField: "invalid_field",
  /** A binary frame arrived; the protocol is text frames only. */
  BinaryFrame: "binary_frame",
  /** A request arrived while another one was in flight on the connection. */
  RequestInFlight: "request_in_flight",
  /** A request arrived after `end_session_message`. */
  SessionEnding: "session_ending",
  /** The request was cancelled by `cancel_message` or by the runtime shutting down. */
  Cancelled: "cancelled",
  /** A download failed (network error, HTTP status, refused name, archive limits). */
  DownloadFailed: "download_failed",
  /** A pre-agent or post-agent command exited non-zero. */
  CommandFailed: "command_failed",
  /** The agent handler threw or reported an error. */
  HandlerError: "handler_error",
  /** The handler returned something that is not an `AgentResult`. */
  InvalidResult: "invalid_result",
  /** The invocation's `agent` names an agent this runtime did not start. */
  UnknownAgent: "unknown_agent",
  /** The agent's answer did not validate against the output schema, also after one corrective turn. */
  InvalidStructuredOutput: "invalid_structured_output",
  /** The runtime itself failed while serving the request. */
  InternalError: "internal_error",
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];
