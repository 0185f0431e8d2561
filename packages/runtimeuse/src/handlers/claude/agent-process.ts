import { type ChildProcess, spawn } from "node:child_process";
import type { SpawnedProcess, SpawnOptions } from "@anthropic-ai/claude-agent-sdk";
import { noFreeDescriptors, spawnedWithoutPipes, spawnRefused } from "../../commands/index.js";
import type { Logger } from "../../logger.js";
import { endProcesses, type ProcessEntry, processTree } from "../shared/process-tree.js";

/** Kept of Claude Code's stderr, for the error message when it dies without a result. */
const STDERR_TAIL_CHARS = 8 * 1024;
/** Longest stderr line passed to the log. */
const LOG_LINE_CHARS = 2000;

export interface AgentProcessOptions {
  logger: Logger;
  /** Between SIGTERM and SIGKILL when the agent's process tree is ended. */
  killGraceMs: number;
}

/**
 * The Claude Code process of one run, started by the SDK through
 * `spawnClaudeCodeProcess` so that the runtime knows its pid: on cancel it
 * ends the process and every process below it, and it keeps the tail of its
 * stderr for error messages.
 */
export class AgentProcess {
  private child: ChildProcess | undefined;
  private exit: Promise<void> | undefined;
  private stderr = "";

  constructor(private readonly options: AgentProcessOptions) {}

  /** For the SDK's `spawnClaudeCodeProcess` option. */
  readonly spawn = (spawnOptions: SpawnOptions): SpawnedProcess => {
    let child: ChildProcess;
    try {
      child = spawn(spawnOptions.command, spawnOptions.args, {
        cwd: spawnOptions.cwd,
        env: spawnOptions.env,
        stdio: ["pipe", "pipe", "pipe"],
        // The SDK's forwarded signal fires after its own graceful close; the
        // runtime's cancel does not wait for it (see terminate()).
        signal: spawnOptions.signal,
        windowsHide: true,
      });
    } catch (error) {
      throw new Error(`Claude Code could not be started: ${spawnRefused(error)}`);
    }
    this.child = child;
    this.exit = new Promise<void>((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) resolve();
      child.once("exit", () => resolve());
      child.once("error", () => resolve());
    });
    child.on("error", (error) => this.options.logger.debug(`claude: process error: ${error.message}`));
    // The SDK reads the pipes at once; the reason (Node's error event) comes only on the next tick.
    if (spawnedWithoutPipes(child)) throw new Error(`Claude Code could not be started: ${noFreeDescriptors()}`);
    child.stderr?.setEncoding("utf8");
    child.stderr?.on("data", (text: string) => {
      this.stderr = (this.stderr + text).slice(-STDERR_TAIL_CHARS);
      for (const line of text.split("\n")) {
        if (line.trim()) this.options.logger.debug(`claude: ${line.slice(0, LOG_LINE_CHARS)}`);
      }
    });
    return child as SpawnedProcess;
  };

  get pid(): number | undefined {
    return this.child?.pid;
  }

  get stderrTail(): string {
    return this.stderr.trim();
  }

  /** Snapshot of the agent process and everything below it, taken while it is alive to be the root. */
  async tree(): Promise<ProcessEntry[]> {
    const pid = this.child?.pid;
    if (pid === undefined || !this.running()) return [];
    return processTree(pid);
  }

  /**
   * Ends the agent process and every process below it: SIGTERM to each (and
   * to the groups they lead), SIGKILL to whatever still runs after the grace
   * period. Resolves once nothing of the tree is left (or after SIGKILL was
   * sent). `snapshot` is a tree taken earlier; it is merged with a fresh one.
   */
  async terminate(snapshot: ProcessEntry[] = []): Promise<void> {
    const entries = mergeEntries(snapshot, await this.tree());
    if (entries.length === 0) return;
    const killed = await endProcesses(entries, this.options.killGraceMs);
    if (killed.length > 0) {
      this.options.logger.debug(`claude: ${killed.length} process(es) outlived SIGTERM; sent SIGKILL`);
    }
    await this.waitForExit(this.options.killGraceMs);
  }

  /** Waits for the agent process to exit, at most `timeoutMs`. True if it has. */
  async waitForExit(timeoutMs: number): Promise<boolean> {
    if (!this.exit) return true;
    let timer: NodeJS.Timeout | undefined;
    const exited = await Promise.race([
      this.exit.then(() => true),
      new Promise<boolean>((resolve) => {
        timer = setTimeout(() => resolve(false), timeoutMs);
      }),
    ]);
    clearTimeout(timer);
    return exited;
  }

  private running(): boolean {
    return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null;
  }
}

function mergeEntries(a: ProcessEntry[], b: ProcessEntry[]): ProcessEntry[] {
  const seen = new Map(a.map((entry) => [`${entry.pid}:${entry.start}`, entry]));
  for (const entry of b) seen.set(`${entry.pid}:${entry.start}`, entry);
  return [...seen.values()];
}
