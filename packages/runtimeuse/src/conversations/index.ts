export { type Conversation, type JsonValue, RunConversation } from "./conversation.js";
export { ConversationError } from "./errors.js";
export type { ConversationLease } from "./lease.js";
export {
  CONVERSATION_DEFAULTS,
  type ConversationSettings,
  DEFAULT_STATE_DIR_TEXT,
  defaultStateDir,
} from "./settings.js";
export { ConversationStore } from "./store.js";
