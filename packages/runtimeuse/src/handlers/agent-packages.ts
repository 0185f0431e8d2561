import { existsSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join, resolve } from "node:path";

/**
 * The npm packages an agent of the runtime runs on, each listed once: the
 * startup checks, the missing-package messages and the docs read them from
 * here. The version ranges are the ones in packages/runtimeuse/package.json
 * (a test keeps the two equal).
 */
export interface AgentPackage {
  /** The npm package. */
  name: string;
  /** The version range the runtime is tested with. */
  range: string;
}

export const AGENT_PACKAGES = {
  /** The `openai` agent. */
  openai: { name: "@openai/agents", range: "^0.14.3" },
  /** The `claude` agent. */
  claude: { name: "@anthropic-ai/claude-agent-sdk", range: "^0.3.332" },
  /** The ACP host itself (`--agent acp` and every preset). */
  acp: { name: "@agentclientprotocol/sdk", range: "^2.4.0" },
  /** The `claude-code` preset: Claude Code as an ACP agent. */
  "claude-code": { name: "@agentclientprotocol/claude-agent-acp", range: "^0.101.0" },
  /** The `codex` preset: Codex as an ACP agent (ships the Codex binary through @openai/codex). */
  codex: { name: "@agentclientprotocol/codex-acp", range: "^2.6.0" },
  /** The `gemini` preset: Gemini CLI in ACP mode. */
  gemini: { name: "@google/gemini-cli", range: "^0.61.0" },
} as const satisfies Record<string, AgentPackage>;

export type AgentPackageKey = keyof typeof AGENT_PACKAGES;

/** The one line that tells a user how to get a missing package. */
export function installHint(pkg: AgentPackage): string {
  return `npm install ${pkg.name}@"${pkg.range}"`;
}

/** Finds a package's directory, as the runtime's own imports would. Undefined when it is not installed. */
export type PackageLocator = (name: string) => string | undefined;

export const locatePackage: PackageLocator = (name) => {
  // Looked up by directory, as Node's resolution walks node_modules: a
  // package's `exports` need not expose its package.json or a require entry.
  const dirs = createRequire(import.meta.url).resolve.paths(name) ?? [];
  for (const dir of dirs) {
    const candidate = join(dir, name);
    if (existsSync(join(candidate, "package.json"))) return candidate;
  }
  return undefined;
};

/**
 * The absolute path of the executable a package declares under `bin` (the
 * named one, or its only one), or undefined when the package or the entry is
 * missing.
 */
export function packageBin(name: string, bin: string, locate: PackageLocator = locatePackage): string | undefined {
  const dir = locate(name);
  if (dir === undefined) return undefined;
  try {
    const manifest = JSON.parse(readFileSync(resolve(dir, "package.json"), "utf8")) as { bin?: unknown };
    const entry = typeof manifest.bin === "string" ? manifest.bin : (manifest.bin as Record<string, unknown>)?.[bin];
    return typeof entry === "string" ? resolve(dir, entry) : undefined;
  } catch {
    return undefined;
  }
}
