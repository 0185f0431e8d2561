import { locatePackage, type PackageLocator } from "../agent-packages.js";
import type { AcpHandler } from "./handler.js";
import { loadAcpHandler } from "./load.js";
import type { AcpAgentOptions } from "./options.js";
import { ACP_PRESETS, type AcpPresetName, checkAcpAgent, isAcpPreset, noExecutable, presetCommand } from "./presets.js";

/** A preset's settings an embedder may give: everything but what the preset decides (its name and command). */
export type AcpPresetOptions = Omit<AcpAgentOptions, "name" | "command" | "args">;

/**
 * The options that start a preset (`codex`, `claude-code`, `gemini`): the
 * executable of its package, installed beside the runtime, and the
 * environment it needs, under `options`. Undefined when its package is missing.
 */
export function presetOptions(
  name: AcpPresetName,
  options: AcpPresetOptions = {},
  locate: PackageLocator = locatePackage,
): AcpAgentOptions | undefined {
  const command = presetCommand(name, locate);
  if (command === undefined) return undefined;
  return { ...options, name, ...command, defaultEnv: { ...ACP_PRESETS[name].defaultEnv, ...options.defaultEnv } };
}

/**
 * An ACP agent for an embedded `RuntimeUseServer`, started: a preset by name
 * (`startAcpAgent("codex")`, its package installed beside runtimeuse; `options`
 * are its settings) or any agent by its command
 * (`startAcpAgent({ name: "mine", command: "my-agent", args: ["--stdio"] })`).
 * Resolves once the agent's process answered ACP's `initialize`, as the CLI
 * is ready only then; rejects with the reason (for a preset whose package is
 * missing, the command that installs it), its processes ended. Missing
 * credentials are only a warning on `options.logSink`: a client may send them
 * in `agent_env`. The handler owns the agent's processes: `close()` it once
 * the server stopped.
 */
export async function startAcpAgent(
  agent: AcpPresetName | AcpAgentOptions,
  options: AcpPresetOptions = {},
): Promise<AcpHandler> {
  const handler = await loadAcpHandler(typeof agent === "string" ? checkedPreset(agent, options) : agent);
  try {
    await handler.start();
  } catch (error) {
    await handler.close();
    throw error;
  }
  return handler;
}

function checkedPreset(name: string, options: AcpPresetOptions): AcpAgentOptions {
  if (!isAcpPreset(name)) {
    throw new TypeError(
      `unknown ACP agent "${name}": choose from ${Object.keys(ACP_PRESETS).join(", ")}, or give its { name, command, args }`,
    );
  }
  const check = checkAcpAgent(name, options.baseEnv ?? process.env);
  if (check.error) throw new Error(check.error);
  for (const warning of check.warnings ?? []) options.logSink?.write("warn", warning, { agent: name });
  const preset = presetOptions(name, options);
  if (preset === undefined) throw new Error(noExecutable(name));
  return preset;
}
