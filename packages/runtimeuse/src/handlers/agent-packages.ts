import { existsSync } from "node:fs";
import { basename, dirname, join, sep } from "node:path";
import { fileURLToPath } from "node:url";
import type { AgentCheck } from "./shared/check.js";

/** An npm package an agent needs, with the version range runtimeuse works with. */
export interface AgentPackage {
  name: string;
  range: string;
}

/**
 * The npm packages each agent needs beyond runtimeuse itself. They are
 * optional peer dependencies of runtimeuse (package.json lists the same names
 * and ranges; a test keeps the two equal), so a plain install carries none of
 * them and each user installs only the SDK of the agent they run.
 */
export const AGENT_PACKAGES: Readonly<Record<string, readonly AgentPackage[]>> = {
  openai: [
    { name: "@openai/agents", range: "^0.14.3" },
    { name: "openai", range: "^6.49.0" },
  ],
  claude: [{ name: "@anthropic-ai/claude-agent-sdk", range: "^0.3.332" }],
};

/** Whether `name` resolves from the runtime's own location, as its `import()` will. */
function resolvable(name: string): boolean {
  try {
    import.meta.resolve(name);
    return true;
  } catch {
    return false;
  }
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
  const specs = packages.map((pkg) => shellQuote(`${pkg.name}@${pkg.range}`));
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
