// The rule for a `conversation_id`, without zod: the runtime's conversation
// store checks names with it, and ConversationIdSchema (schemas.ts) is built on it.

/** Longest accepted `conversation_id`. */
export const CONVERSATION_ID_MAX_LENGTH = 128;
const CONVERSATION_ID_PATTERN = new RegExp(`^[A-Za-z0-9][A-Za-z0-9._-]{0,${CONVERSATION_ID_MAX_LENGTH - 1}}$`);

/**
 * True for a usable conversation id: 1 to 128 characters of `A-Za-z0-9._-`,
 * starting with a letter or digit. The runtime names a file after it, so the
 * rule leaves no room for paths, hidden files or `..`.
 */
export function isConversationId(value: unknown): value is string {
  return typeof value === "string" && CONVERSATION_ID_PATTERN.test(value);
}
