export { preloadRequestModules } from "./lazy-modules.js";
export { DEFAULT_MAX_BUFFERED_BYTES, DEFAULT_SEND_HIGH_WATER_MARK } from "./outbox.js";
export { DEFAULT_REPLAY_BUFFER_BYTES } from "./replay-buffer.js";
export { DEFAULT_RESUME_GRACE_MS } from "./resume-state.js";
export type { SessionOptions } from "./session.js";
export { DEFAULT_HEARTBEAT_INTERVAL_MS, DEFAULT_WIND_DOWN_TIMEOUT_MS } from "./timers.js";
export { WebSocketSession, type WebSocketSessionOptions } from "./websocket-session.js";
