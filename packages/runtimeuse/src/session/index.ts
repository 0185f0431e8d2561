export { preloadRequestModules } from "./lazy-modules.js";
export { redactSecrets } from "./redact-message.js";
export type { SessionOptions } from "./session.js";
export { WebSocketSession, type WebSocketSessionOptions } from "./websocket-session.js";
