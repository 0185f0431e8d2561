/**
 * Stable codes for everything that can go wrong on the wire. They travel in
 * `error_message.metadata.code`; docs/ERRORS.md lists each one. Clients reuse
 * the frame-level ones (`invalid_json` to `binary_frame`) for frames the
 * runtime sent them that fail validation.
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
  /** `conversation_id` is not a usable id (charset, length, first character). */
  InvalidConversationId: "invalid_conversation_id",
  /** Another request in flight (on any connection) holds the conversation. */
  ConversationBusy: "conversation_busy",
  /** The conversation's file is larger than the runtime's limit; it was not loaded. */
  ConversationTooLarge: "conversation_too_large",
  /** The conversation's file is not a conversation file, or is damaged. */
  ConversationUnreadable: "conversation_unreadable",
  /** Reading or writing the conversation failed (disk full, permissions); `metadata.operation` says which. */
  ConversationStoreFailed: "conversation_store_failed",
  /** The invocation's `agent` names an agent this runtime did not start. */
  UnknownAgent: "unknown_agent",
  /** The agent's answer did not validate against the output schema, also after one corrective turn. */
  InvalidStructuredOutput: "invalid_structured_output",
  /** The runtime itself failed while serving the request. */
  InternalError: "internal_error",
  /**
   * An approval or question answer whose `request_id` waits for nothing (unknown,
   * already answered, timed out, or of a request that ended); sent in a
   * `response_error_message`, never ends a request.
   */
  UnknownRequestId: "unknown_request_id",
  /**
   * A resume needed frames the runtime had already dropped from its replay
   * buffer; the reason of close code 4002. The session ends.
   */
  ReplayGap: "replay_gap",
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

/**
 * Codes of failures a client detects on its own side; they never cross the
 * wire. Both clients use these names: the TypeScript client in the `code` of
 * its `ProtocolViolationError` and `ConnectionError`, the Python client in
 * `AgentRuntimeError.metadata["code"]`. docs/ERRORS.md lists each one, and
 * fixtures/codes.json pins the list for the Python tests.
 */
export const ClientErrorCode = {
  /** The connection closed, or was lost, before the answer the client was waiting for. */
  ConnectionClosed: "connection_closed",
  /** Opening the connection failed (refused, HTTP status, handshake closed). TypeScript client only. */
  ConnectFailed: "connect_failed",
  /**
   * A valid message where the protocol allows none: a terminal of another kind
   * than the request's, an end-session confirm during a request, or anything
   * but an artifact offer or a heartbeat between a session's requests.
   */
  UnexpectedMessage: "unexpected_message",
  /** A frame larger than the client accepts (`maxFrameBytes`). TypeScript client only. */
  FrameTooLarge: "frame_too_large",
  /** More messages waited for a slow consumer than the client allows (`maxQueuedMessages`). TypeScript client only. */
  TooManyQueuedMessages: "too_many_queued_messages",
  /** The runtime did not end a request the client cancelled or gave up on within the client's limit. */
  SessionOutOfStep: "session_out_of_step",
  /** A resumable connection dropped and could not be resumed within the attempts or the grace window. */
  ConnectionLost: "connection_lost",
} as const;
export type ClientErrorCode = (typeof ClientErrorCode)[keyof typeof ClientErrorCode];
