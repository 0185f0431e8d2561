import type { LogSink } from "../../logger.js";
import { AgentProcess, describeExit, type SpawnSpec } from "./agent-process.js";
import type { AcpLimits } from "./options.js";

/**
 * Keeps an ACP agent's processes: one per distinct `agent_env` (the runtime's
 * own environment is the first, started at startup), each reused across
 * requests. ACP has no way to hand a new session an environment, so a request
 * whose `agent_env` differs from every running process gets a process of its
 * own, kept for the next request with the same `agent_env`; past
 * `maxProcesses` the least recently used idle one is stopped.
 *
 * A process that dies is started again after a backoff that doubles while it
 * keeps dying quickly (see AcpLimits): the runtime's own at once, in the
 * background; the others when a request next needs them.
 */
export class AgentSupervisor {
  private readonly slots = new Map<string, Slot>();
  private closed = false;

  constructor(
    private readonly spawnSpec: (env: Record<string, string>, label: string) => SpawnSpec,
    private readonly limits: AcpLimits,
    private readonly log: LogSink,
    private readonly name: string,
  ) {}

  /** Starts the process for the runtime's own environment; rejects when it cannot start. */
  async start(): Promise<AgentProcess> {
    return this.acquire({});
  }

  /** A running, initialized process for `env` (the request's `agent_env`), started if need be. */
  async acquire(env: Record<string, string>): Promise<AgentProcess> {
    if (this.closed) throw new Error(`the ${this.name} agent is shut down`);
    const key = envKey(env);
    let slot = this.slots.get(key);
    if (slot === undefined) {
      const label = key === "" ? this.name : `${this.name}[agent_env ${this.slots.size}]`;
      slot = new Slot(this.spawnSpec(env, label), this.limits, this.log, key === "");
      this.slots.set(key, slot);
      await this.evictBeyondLimit(slot);
    }
    slot.lastUsed = performance.now();
    return slot.get();
  }

  /** Stops every process and its children; nothing is restarted afterwards. */
  async close(): Promise<void> {
    this.closed = true;
    await Promise.all([...this.slots.values()].map((slot) => slot.close()));
    this.slots.clear();
  }

  private async evictBeyondLimit(keep: Slot): Promise<void> {
    while (this.slots.size > this.limits.maxProcesses) {
      const idle = [...this.slots.entries()]
        .filter(([, slot]) => slot !== keep && !slot.primary && slot.idle)
        .sort(([, a], [, b]) => a.lastUsed - b.lastUsed)[0];
      if (idle === undefined) return;
      this.slots.delete(idle[0]);
      this.log.write("info", `${idle[1].label}: stopping the least recently used agent process`, {
        processes: this.slots.size,
      });
      await idle[1].close();
    }
  }
}

class Slot {
  lastUsed = performance.now();
  private current: AgentProcess | undefined;
  private starting: Promise<AgentProcess> | undefined;
  private backoffMs: number;
  private notBefore = 0;
  private closed = false;
  private restartTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly spec: SpawnSpec,
    private readonly limits: AcpLimits,
    private readonly log: LogSink,
    /** The runtime's own environment: restarted eagerly after a crash. */
    readonly primary: boolean,
  ) {
    this.backoffMs = limits.restartBackoffMs;
  }

  get label(): string {
    return this.spec.label;
  }

  get idle(): boolean {
    return this.starting === undefined && (this.current?.sessions.size ?? 0) === 0;
  }

  get(): Promise<AgentProcess> {
    if (this.current?.alive) return Promise.resolve(this.current);
    this.starting ??= this.launch().finally(() => {
      this.starting = undefined;
    });
    return this.starting;
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.restartTimer);
    const starting = this.starting?.catch(() => undefined);
    const current = this.current ?? (await starting);
    await current?.stop();
  }

  private async launch(): Promise<AgentProcess> {
    const wait = this.notBefore - performance.now();
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    if (this.closed) throw new Error(`${this.label}: the agent is shut down`);
    const started = performance.now();
    let agent: AgentProcess;
    try {
      agent = await AgentProcess.start(this.spec);
    } catch (error) {
      this.noteDeath(0);
      throw new Error(`the ${this.label} agent could not start: ${error instanceof Error ? error.message : error}`);
    }
    if (this.closed) {
      await agent.stop();
      throw new Error(`${this.label}: the agent is shut down`);
    }
    this.current = agent;
    this.log.write("info", `${this.label}: agent process ready`, {
      pid: agent.pid,
      agent: agent.initialized.agentInfo?.name,
      agent_version: agent.initialized.agentInfo?.version,
      ms: Math.round(performance.now() - started),
    });
    void agent.exited.then((exit) => {
      if (agent.stopped || this.closed) return;
      this.noteDeath(performance.now() - started);
      this.log.write("warn", `${this.label}: agent process exited (${describeExit(exit)}); restarting`, {
        pid: agent.pid,
        restart_in_ms: Math.round(Math.max(0, this.notBefore - performance.now())),
        stderr: agent.stderrTail.slice(-500) || undefined,
      });
      if (this.primary) {
        this.restartTimer = setTimeout(() => void this.get().catch(() => {}), 0);
        this.restartTimer.unref();
      }
    });
    return agent;
  }

  /** After a death: a process that lived long resets the backoff, a quick death doubles it. */
  private noteDeath(livedMs: number): void {
    if (livedMs >= this.limits.stableAfterMs) this.backoffMs = this.limits.restartBackoffMs;
    this.notBefore = performance.now() + this.backoffMs;
    this.backoffMs = Math.min(this.backoffMs * 2, this.limits.maxRestartBackoffMs);
  }
}

/** The same environment gives the same key, whatever the order of its names. */
function envKey(env: Record<string, string>): string {
  const names = Object.keys(env).sort();
  return names.length === 0 ? "" : JSON.stringify(names.map((name) => [name, env[name]]));
}
