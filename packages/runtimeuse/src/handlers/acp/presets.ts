import {
  AGENT_PACKAGES,
  checkAgentPackages,
  locatePackage,
  type PackageLocator,
  packageBin,
} from "../agent-packages.js";
import type { AgentCheck } from "../shared/check.js";

/**
 * The ACP agents the CLI starts by name (`--agent codex`, ...): which npm
 * package holds the agent, which of its executables to run and how, and the
 * variables it finds its credentials in. This module loads no SDK.
 */
export interface AcpPreset {
  /** The executable, by its name under the package's `bin`. */
  bin: string;
  args: readonly string[];
  description: string;
  /** Any one of these holds a credential the agent can use. */
  credentials: readonly string[];
  /** Set for the agent over the runtime's environment, unless `agent_env` sets them (see docs/AGENTS.md). */
  defaultEnv: Record<string, string>;
}

export const ACP_PRESETS = {
  codex: {
    bin: "codex-acp",
    args: [],
    description: "Codex through its ACP adapter (CODEX_API_KEY or OPENAI_API_KEY here or in agent_env)",
    credentials: ["CODEX_API_KEY", "OPENAI_API_KEY"],
    // The sandbox is the boundary: Codex runs commands without its own
    // sandbox (which needs bubblewrap) and never asks; it logs in with the API
    // key from the environment, never through a browser.
    defaultEnv: {
      INITIAL_AGENT_MODE: "agent-full-access",
      CODEX_CONFIG: JSON.stringify({ sandbox_mode: "danger-full-access", approval_policy: "never" }),
      DEFAULT_AUTH_REQUEST: JSON.stringify({ methodId: "api-key" }),
      NO_BROWSER: "1",
    },
  },
  "claude-code": {
    bin: "claude-agent-acp",
    args: [],
    description: "Claude Code through its ACP adapter (ANTHROPIC_API_KEY here or in agent_env)",
    credentials: ["ANTHROPIC_API_KEY", "ANTHROPIC_AUTH_TOKEN", "CLAUDE_CODE_OAUTH_TOKEN"],
    // As for the `claude` agent: skipping permission prompts as root needs
    // IS_SANDBOX, and a sandbox sends no telemetry or update checks.
    defaultEnv: { IS_SANDBOX: "1", CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: "1" },
  },
  gemini: {
    bin: "gemini",
    args: ["--acp"],
    description: "Gemini CLI in ACP mode (GEMINI_API_KEY here or in agent_env)",
    credentials: ["GEMINI_API_KEY", "GOOGLE_API_KEY"],
    // The runtime is headless: no folder-trust prompt, no telemetry.
    defaultEnv: { GEMINI_CLI_TRUST_WORKSPACE: "true", GEMINI_TELEMETRY_ENABLED: "false" },
  },
} as const satisfies Record<string, AcpPreset>;

export type AcpPresetName = keyof typeof ACP_PRESETS;

/** The name of the generic ACP agent: `--agent acp -- <command> [args...]`. */
export const GENERIC_ACP_AGENT = "acp";

export function isAcpPreset(name: string): name is AcpPresetName {
  return Object.hasOwn(ACP_PRESETS, name);
}

/** How to start a preset: node running the package's executable, or undefined when the package is missing. */
export function presetCommand(
  name: AcpPresetName,
  locate: PackageLocator = locatePackage,
): { command: string; args: string[] } | undefined {
  const preset: AcpPreset = ACP_PRESETS[name];
  const pkg = AGENT_PACKAGES[name]?.[0];
  const bin = pkg && packageBin(pkg.name, preset.bin, locate);
  if (bin === undefined) return undefined;
  return { command: process.execPath, args: [bin, ...preset.args] };
}

/** Why a preset cannot start when its package is installed without the executable it names. */
export function noExecutable(name: AcpPresetName): string {
  return `the ${name} agent's package declares no ${ACP_PRESETS[name].bin} executable`;
}

/**
 * Startup check of an ACP agent, before anything is loaded: a preset's
 * package must be installed (else the one line naming it and the command that
 * installs it, as for the built-in agents' SDKs); missing credentials are a
 * warning only, since a client may send them in `agent_env`.
 */
export function checkAcpAgent(
  name: string,
  env: NodeJS.ProcessEnv,
  locate: PackageLocator = locatePackage,
): AgentCheck {
  if (!isAcpPreset(name)) return {};
  const missing = checkAgentPackages(name, (pkg) => locate(pkg) !== undefined);
  if (missing) return missing;
  const preset: AcpPreset = ACP_PRESETS[name];
  if (presetCommand(name, locate) === undefined) {
    return { error: noExecutable(name) };
  }
  if (!preset.credentials.some((variable) => env[variable]?.trim())) {
    return {
      warnings: [
        `${preset.credentials[0]} is not set: each client must send it (or ${preset.credentials.slice(1).join(" or ")}) in agent_env, or the ${name} agent's runs will fail`,
      ],
    };
  }
  return {};
}
