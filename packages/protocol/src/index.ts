export { ClientErrorCode, ErrorCode } from "./errors.js";
export { type TextPlan, textPlanOf } from "./free-text.js";
export {
  formatPath,
  type ParseResult,
  type ProtocolError,
  parseClientFrame,
  parseClientMessage,
  parseRuntimeFrame,
  parseRuntimeMessage,
  validateClientMessage,
  validateRuntimeMessage,
} from "./parse.js";
export * from "./resume.js";
export * from "./schemas.js";
export { addUsage, zeroUsage } from "./usage.js";
