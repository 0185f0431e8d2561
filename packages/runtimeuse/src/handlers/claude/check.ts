import { accessSync, constants } from "node:fs";
import { createRequire } from "node:module";
import type { AgentCheck } from "../shared/check.js";

const SDK_PACKAGE = "@anthropic-ai/claude-agent-sdk";

/** The platform package that ships Claude Code's native binary for this machine, musl first where libc is musl. */
export function claudeBinaryPackages(platform = process.platform, arch = process.arch, musl = isMusl()): string[] {
  if (platform === "linux") {
    const glibc = `${SDK_PACKAGE}-linux-${arch}`;
    return musl ? [`${glibc}-musl`, glibc] : [glibc, `${glibc}-musl`];
  }
  return [`${SDK_PACKAGE}-${platform}-${arch}`];
}

function isMusl(): boolean {
  if (process.platform !== "linux") return false;
  const report = process.report?.getReport() as { header?: { glibcVersionRuntime?: string } } | undefined;
  return report !== undefined && report.header?.glibcVersionRuntime === undefined;
}

/**
 * Where the Claude Code binary that the Claude Agent SDK runs is installed:
 * the SDK's optional platform package, resolved from the SDK's own location
 * (as the SDK does). Undefined when it is missing or not executable. Does not
 * load the SDK.
 */
export function findClaudeBinary(): string | undefined {
  let sdkRequire: NodeJS.Require;
  try {
    sdkRequire = createRequire(createRequire(import.meta.url).resolve(SDK_PACKAGE));
  } catch {
    return undefined;
  }
  const file = process.platform === "win32" ? "claude.exe" : "claude";
  for (const pkg of claudeBinaryPackages()) {
    try {
      const path = sdkRequire.resolve(`${pkg}/${file}`);
      accessSync(path, constants.X_OK);
      return path;
    } catch {}
  }
  return undefined;
}

/** Names under which Claude Code finds API credentials in its environment. */
const CREDENTIAL_VARIABLES = ["ANTHROPIC_API_KEY", "ANTHROPIC_AUTH_TOKEN", "CLAUDE_CODE_OAUTH_TOKEN"];

/**
 * Startup check of the `claude` agent, run before its SDK is loaded. A missing
 * binary is an error; missing credentials only a warning, since a client may
 * send `ANTHROPIC_API_KEY` in `agent_env`.
 */
export function checkClaude(
  env: NodeJS.ProcessEnv,
  findBinary: () => string | undefined = findClaudeBinary,
): AgentCheck {
  if (findBinary() === undefined) {
    const packages = claudeBinaryPackages().join(" or ");
    return {
      error: `the claude agent cannot find the Claude Code binary: the npm package ${packages} is not installed (it is an optional dependency of ${SDK_PACKAGE}; were optional dependencies omitted?)`,
    };
  }
  if (!CREDENTIAL_VARIABLES.some((name) => env[name]?.trim())) {
    return {
      warnings: [
        "ANTHROPIC_API_KEY is not set: each client must send it in agent_env, or the claude agent's runs will fail",
      ],
    };
  }
  return {};
}
