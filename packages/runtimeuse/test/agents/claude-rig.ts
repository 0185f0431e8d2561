import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before } from "node:test";
import { createClaudeHandler } from "../../src/handlers/index.js";
import { type Runtime, startRuntime } from "./harness.js";

/** A suite's Claude runtime: a working directory, Claude Code's config dir inside it, and the agent_env that points at a scripted Messages API. */
export interface ClaudeRig {
  readonly runtime: Runtime;
  readonly dir: string;
  /** agent_env for the scripted API at `baseURL`; `extra` is laid over it. */
  env(baseURL: string, extra?: Record<string, string>): Record<string, string>;
}

/** Registers the suite's before/after hooks that start and stop a runtime with the Claude agent in a temporary directory. */
export function useClaudeRuntime(prefix: string): ClaudeRig {
  let runtime: Runtime | undefined;
  let dir: string | undefined;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), prefix));
    await mkdir(join(dir, "claude-config"));
    runtime = await startRuntime(createClaudeHandler({ cwd: dir }));
  });
  after(async () => {
    await runtime?.stop();
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  });
  const started = <T>(value: T | undefined): T => {
    if (value === undefined) throw new Error("the Claude runtime is used before its suite started it");
    return value;
  };
  return {
    get runtime() {
      return started(runtime);
    },
    get dir() {
      return started(dir);
    },
    env(baseURL, extra = {}) {
      return {
        ANTHROPIC_API_KEY: "sk-ant-scripted",
        ANTHROPIC_BASE_URL: baseURL,
        // Keeps Claude Code's own state out of the machine's ~/.claude.
        CLAUDE_CONFIG_DIR: join(started(dir), "claude-config"),
        ...extra,
      };
    },
  };
}
