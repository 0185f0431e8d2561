import type { LogSink } from "../../logger.js";
import { AgentProcess, describeExit, type SpawnSpec } from "./agent-process.js";
import type { AcpLimits } from "./options.js";

/** A request's hold on the agent process; `release()` once its session is over. */
export interface AgentLease {
  agent: AgentProcess;
  release(): void;
}

interface Waiter {
  key: string;
  env: Record<string, string>;
  resolve(lease: AgentLease): void;
  reject(error: Error): void;
}

/**
 * Keeps an ACP agent's one process, reused across requests (each opens a
 * session of its own on it). ACP has no way to hand a session an environment,
 * so the process runs with the environment of the requests it serves: the
 * runtime's own plus their `agent_env`. A request whose `agent_env` differs
 * waits until the requests on the running process are done, then the process
 * is restarted with the new environment. (One process at a time: agents such
 * as Codex keep state on disk that two of their processes cannot share.)
 * Requests are served in arrival order.
 *
 * A process that dies is started again after a backoff that doubles while it
 * keeps dying quickly (AcpLimits): at once in the background, so that the next
 * request finds it ready.
 */
export class AgentSupervisor {
  private current: { key: string; agent: AgentProcess; started: number } | undefined;
  private leases = 0;
  private readonly queue: Waiter[] = [];
  private busy = false;
  private closed = false;
  private backoffMs: number;
  private notBefore = 0;
  private restartTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly spawnSpec: (env: Record<string, string>) => SpawnSpec,
    private readonly limits: AcpLimits,
    private readonly log: LogSink,
    private readonly name: string,
  ) {
    this.backoffMs = limits.restartBackoffMs;
  }

  /** Starts the process with the runtime's own environment; rejects when it cannot start. */
  async start(): Promise<void> {
    (await this.acquire({})).release();
  }

  /** The process, running with `env` as its `agent_env`, for one request. A request cancelled while it waits leaves the queue. */
  acquire(env: Record<string, string>, signal?: AbortSignal): Promise<AgentLease> {
    if (this.closed) return Promise.reject(new Error(`the ${this.name} agent is shut down`));
    return new Promise((resolve, reject) => {
      const waiter: Waiter = { key: envKey(env), env, resolve, reject };
      this.queue.push(waiter);
      signal?.addEventListener(
        "abort",
        () => {
          const at = this.queue.indexOf(waiter);
          if (at < 0) return;
          this.queue.splice(at, 1);
          reject(new Error("cancelled while waiting for the agent"));
        },
        { once: true },
      );
      void this.pump();
    });
  }

  /** Stops the process and its children; nothing is started afterwards. */
  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.restartTimer);
    for (const waiter of this.queue.splice(0)) waiter.reject(new Error(`the ${this.name} agent is shut down`));
    await this.current?.agent.stop();
  }

  private async pump(): Promise<void> {
    if (this.busy) return;
    this.busy = true;
    try {
      while (this.queue.length > 0 && !this.closed) {
        const head = this.queue[0] as Waiter;
        const current = this.current;
        if (current?.agent.alive && current.key === head.key) {
          this.queue.shift();
          head.resolve(this.lease(current.agent));
          continue;
        }
        // Another environment, or no live process: wait for the requests on it, then (re)start.
        if (current?.agent.alive && this.leases > 0) return;
        this.queue.shift();
        try {
          const agent = await this.launch(head.key, head.env);
          head.resolve(this.lease(agent));
        } catch (error) {
          head.reject(error instanceof Error ? error : new Error(String(error)));
        }
      }
    } finally {
      this.busy = false;
    }
  }

  private lease(agent: AgentProcess): AgentLease {
    this.leases++;
    let released = false;
    return {
      agent,
      release: () => {
        if (released) return;
        released = true;
        this.leases--;
        void this.pump();
      },
    };
  }

  private async launch(key: string, env: Record<string, string>): Promise<AgentProcess> {
    const previous = this.current;
    this.current = undefined;
    if (previous?.agent.alive) {
      this.log.write("info", `${this.name}: restarting the agent process for another agent_env`, {
        pid: previous.agent.pid,
      });
      await previous.agent.stop();
    }
    const wait = this.notBefore - performance.now();
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    if (this.closed) throw new Error(`the ${this.name} agent is shut down`);
    const started = performance.now();
    let agent: AgentProcess;
    try {
      agent = await AgentProcess.start(this.spawnSpec(env));
    } catch (error) {
      this.noteDeath(0);
      throw new Error(`the ${this.name} agent could not start: ${error instanceof Error ? error.message : error}`);
    }
    if (this.closed) {
      await agent.stop();
      throw new Error(`the ${this.name} agent is shut down`);
    }
    this.current = { key, agent, started };
    this.log.write("info", `${this.name}: agent process ready`, {
      pid: agent.pid,
      agent: agent.initialized.agentInfo?.name,
      agent_version: agent.initialized.agentInfo?.version,
      ms: Math.round(performance.now() - started),
    });
    void agent.exited.then((exit) => this.onExit(agent, env, exit, started));
    return agent;
  }

  private onExit(
    agent: AgentProcess,
    env: Record<string, string>,
    exit: Parameters<typeof describeExit>[0],
    started: number,
  ): void {
    if (agent.stopped || this.closed) return;
    this.noteDeath(performance.now() - started);
    this.log.write("warn", `${this.name}: agent process exited (${describeExit(exit)}); restarting`, {
      pid: agent.pid,
      restart_in_ms: Math.round(Math.max(0, this.notBefore - performance.now())),
      stderr: agent.stderrTail.slice(-500) || undefined,
    });
    // Started again in the background with the same environment, unless a request already asks.
    this.restartTimer = setTimeout(() => {
      if (this.closed || this.queue.length > 0 || this.current?.agent !== agent) return;
      this.acquire(env).then(
        (lease) => lease.release(),
        () => {},
      );
    }, 0);
    this.restartTimer.unref();
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
