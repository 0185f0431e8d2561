// Loads no agent SDK: each built-in agent's SDK loads with its handler, on
// first use (lazy.ts, builtin.ts); the startup checks import none.

export type { AcpHandler } from "./acp/handler.js";
export { loadAcpHandler } from "./acp/load.js";
export { type AcpAgentOptions, type AcpPermissionPolicy, DEFAULT_ACP_PERMISSIONS } from "./acp/options.js";
export {
  ACP_PRESETS,
  type AcpPresetName,
  checkAcpAgent,
  GENERIC_ACP_AGENT,
  isAcpPreset,
} from "./acp/presets.js";
export { type AcpPresetOptions, presetOptions, startAcpAgent } from "./acp/start.js";
export type { PackageLocator } from "./agent-packages.js";
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
export { createAgentRouter } from "./router.js";
