export { checkClaude, findClaudeBinary } from "./check.js";
export { type ClaudeHandlerOptions, claudeHandler, createClaudeHandler } from "./handler.js";
