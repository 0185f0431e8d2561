export { runtimeVersion } from "../version.js";
export { DEFAULT_MAX_CONNECTIONS } from "./admission.js";
export { TOKEN_ENV } from "./auth.js";
export { DEFAULT_PING_INTERVAL_MS } from "./liveness.js";
export { OPTION_RANGES } from "./options-check.js";
export {
  DEFAULT_HOST,
  DEFAULT_MAX_FRAME_BYTES,
  DEFAULT_PORT,
  DEFAULT_SHUTDOWN_TIMEOUT_MS,
  type ListeningAddress,
  RuntimeUseServer,
  type RuntimeUseServerOptions,
  wsUrl,
} from "./server.js";
export type { AuthThrottleOptions } from "./throttle.js";
