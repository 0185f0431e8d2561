export { ClientErrorCode, ErrorCode } from "./errors.js";
export {
  formatPath,
  type ParseResult,
  type ProtocolError,
  parseClientMessage,
  parseRuntimeMessage,
  validateClientMessage,
  validateRuntimeMessage,
} from "./parse.js";
export * from "./schemas.js";
