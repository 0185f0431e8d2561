import type { ErrorCode } from "@runtimeuse/protocol";

type ConversationCode =
  | typeof ErrorCode.ConversationBusy
  | typeof ErrorCode.ConversationTooLarge
  | typeof ErrorCode.ConversationUnreadable
  | typeof ErrorCode.ConversationStoreFailed
  | typeof ErrorCode.InvalidConversationId;

/** A conversation could not be used; `code` and `metadata` go into the request's `error_message`. */
export class ConversationError extends Error {
  override readonly name = "ConversationError";
  constructor(
    readonly code: ConversationCode,
    message: string,
    readonly metadata: Record<string, unknown> = {},
  ) {
    super(message);
  }
}
