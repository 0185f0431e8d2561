export { checkOpenAI } from "./check.js";
export { createOpenAIHandler, type OpenAIHandlerOptions, openaiHandler } from "./handler.js";
export type { ShellToolOptions } from "./shell-tool.js";
