import { existsSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { basename, dirname, join, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";
import type { AgentCheck } from "./shared/check.js";

/** An npm package an agent needs, with the version range runtimeuse works with. */
export interface AgentPackage {
  name: string;
  range: string;
}

/**
 * The npm packages each agent needs beyond runtimeuse itself: the built-in
 * agents' SDKs and the ACP presets' agents. They are optional peer
 * dependencies of runtimeuse (package.json lists the same names and ranges; a
 * test keeps the two equal), so a plain install carries none of them and each
 * user installs only what the agent they run needs. The ACP host itself
 * (`@agentclientprotocol/sdk`, for `--agent acp` and every preset) is a
 * dependency of runtimeuse.
 */
export const AGENT_PACKAGES: Readonly<Record<string, readonly AgentPackage[]>> = {
  openai: [
    { name: "@openai/agents", range: "^0.20.0" },
    { name: "openai", range: "^7.59.0" },
  ],
  claude: [{ name: "@anthropic-ai/claude-agent-sdk", range: "^0.3.332" }],
  /** Claude Code as an ACP agent. */
  "claude-code": [{ name: "@agentclientprotocol/claude-agent-acp", range: "^0.101.0" }],
  /** Codex as an ACP agent (ships the Codex binary through @openai/codex). */
  codex: [{ name: "@agentclientprotocol/codex-acp", range: "^2.6.0" }],
  /** Gemini CLI in ACP mode. */
  gemini: [{ name: "@google/gemini-cli", range: "^0.61.0" }],
};

/**
 * Packages an agent's SDK imports that npm does not put beside it in a global
 * install: `openai` imports `zod` (an optional peer of `openai`, a peer of
 * `@openai/agents`), and `npm install -g` gives each global package its own
 * tree, so the global `openai` finds no `zod` (in a project, the one the
 * runtime brings is found). The install command names them with the SDK.
 */
const INSTALLED_BESIDE: Readonly<Record<string, readonly AgentPackage[]>> = {
  openai: [{ name: "zod", range: "^4.0.0" }],
};

/** Finds a package's directory, as the runtime's own imports would. Undefined when it is not installed. */
export type PackageLocator = (name: string) => string | undefined;

/**
 * Looked up by directory, as Node's resolution walks node_modules from the
 * runtime's own location: a package's `exports` need not expose an entry
 * (the ACP agents are executables), nor its package.json.
 */
export const locatePackage: PackageLocator = (name) => {
  const dirs = createRequire(import.meta.url).resolve.paths(name) ?? [];
  for (const dir of dirs) {
    const candidate = join(dir, name);
    if (existsSync(join(candidate, "package.json"))) return candidate;
  }
  return undefined;
};

function resolvable(name: string): boolean {
  return locatePackage(name) !== undefined;
}

/** The packages of `agent` that are not installed where the runtime can import them. */
export function missingAgentPackages(agent: string, isInstalled = resolvable): AgentPackage[] {
  return (AGENT_PACKAGES[agent] ?? []).filter((pkg) => !isInstalled(pkg.name));
}

/**
 * The startup check that an agent's packages are installed: undefined when
 * they are, else one line naming them and the exact command that installs
 * them next to this runtime.
 */
export function checkAgentPackages(agent: string, isInstalled = resolvable): AgentCheck | undefined {
  const missing = missingAgentPackages(agent, isInstalled);
  if (missing.length === 0) return undefined;
  const names = missing.map((pkg) => pkg.name).join(" and ");
  return {
    error: `the ${agent} agent needs ${names}, which ${missing.length === 1 ? "is" : "are"} not installed; install with: ${installCommand(agent, missing)}`,
  };
}

/**
 * The command that installs `packages` where a runtime loaded from
 * `runtimeFile` resolves them: beside a global install (`npm install -g`),
 * into the project a local install belongs to, through npx for an npx run,
 * and into the folder of the one-file build.
 */
export function installCommand(
  agent: string,
  packages: readonly AgentPackage[],
  runtimeFile = fileURLToPath(import.meta.url),
): string {
  const specs = [...packages, ...(INSTALLED_BESIDE[agent] ?? [])].map((pkg) => shellQuote(`${pkg.name}@${pkg.range}`));
  const marker = `${sep}node_modules${sep}runtimeuse${sep}`;
  const at = runtimeFile.lastIndexOf(marker);
  if (at < 0) return `npm install --prefix ${shellQuote(dirname(runtimeFile))} ${specs.join(" ")}`;
  const root = runtimeFile.slice(0, at);
  if (root.split(sep).includes("_npx")) {
    return `npx -y -p runtimeuse ${specs.map((spec) => `-p ${spec}`).join(" ")} runtimeuse --agent ${agent}`;
  }
  // npm's global layout: PREFIX/lib/node_modules/runtimeuse and PREFIX/bin/runtimeuse.
  if (basename(root) === "lib" && existsSync(join(dirname(root), "bin", "runtimeuse"))) {
    return `npm install -g --prefix ${shellQuote(dirname(root))} ${specs.join(" ")}`;
  }
  return `npm install --prefix ${shellQuote(root)} ${specs.join(" ")}`;
}

function shellQuote(word: string): string {
  return /^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replaceAll("'", `'\\''`)}'`;
}

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
