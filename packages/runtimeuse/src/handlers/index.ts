// Loads no agent SDK: each built-in agent's SDK loads with its handler, on
// first use (lazy.ts, builtin.ts); the startup checks import none.
export { BUILTIN_AGENTS, type BuiltinAgent, DEFAULT_AGENT } from "./builtin.js";
export { echoHandler } from "./echo.js";
export {
  type ClaudeHandlerOptions,
  claudeHandler,
  createClaudeHandler,
  createOpenAIHandler,
  type OpenAIHandlerOptions,
  openaiHandler,
  type ShellToolOptions,
} from "./lazy.js";
export { HandlerLoadError, loadHandlerModule } from "./load.js";
