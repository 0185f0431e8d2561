import { type ChildProcess, spawn } from "node:child_process";
import { Readable, Writable } from "node:stream";
import type { ClientConnection, InitializeResponse } from "@agentclientprotocol/sdk/unstable";
import { ndJsonStream, PROTOCOL_VERSION } from "@agentclientprotocol/sdk/unstable";
import { noFreeDescriptors, spawnedWithoutPipes, spawnRefused } from "../../commands/index.js";
import type { LogSink } from "../../logger.js";
import { endProcesses, type ProcessEntry, processTree } from "../shared/process-tree.js";
import { type AcpSessionHost, createClientApp } from "./callbacks.js";

/** Kept of the agent's stderr, for the error message when it dies. */
const STDERR_TAIL_CHARS = 8 * 1024;
/** Longest stderr line passed to the log. */
const LOG_LINE_CHARS = 2000;

export interface AgentExit {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** Set when the process could not be started at all. */
  error?: string;
}

export interface SpawnSpec {
  /** For log lines: the agent's name and, for a process with its own `agent_env`, which one. */
  label: string;
  command: string;
  args: readonly string[];
  env: NodeJS.ProcessEnv;
  cwd: string;
  log: LogSink;
  startTimeoutMs: number;
  killGraceMs: number;
  version: string;
}

/**
 * One running ACP agent: its process (the leader of a process group of its
 * own) and the SDK connection over its stdio, initialized. The runtime is the
 * ACP client: the agent's callbacks go to the request whose session they name,
 * through `sessions`.
 */
export class AgentProcess {
  readonly exited: Promise<AgentExit>;
  private stderr = "";
  private exitInfo: AgentExit | undefined;
  private stopping = false;

  private constructor(
    private readonly spec: SpawnSpec,
    private readonly child: ChildProcess,
    /** The open ACP sessions of this process, by session id: one per request in flight. */
    readonly sessions: Map<string, AcpSessionHost>,
    readonly connection: ClientConnection,
    readonly initialized: InitializeResponse,
    exited: Promise<AgentExit>,
  ) {
    this.exited = exited;
    void exited.then((info) => {
      this.exitInfo = info;
    });
  }

  /**
   * Spawns the agent, connects the runtime's client app to its stdio and sends `initialize` with
   * the client capabilities the runtime implements (text files, terminals).
   * Rejects, with the process ended, when it exits or does not answer in time.
   */
  static async start(spec: SpawnSpec): Promise<AgentProcess> {
    const sessions = new Map<string, AcpSessionHost>();
    const app = createClientApp(sessions, spec.label, spec.log);
    let child: ChildProcess;
    try {
      child = spawn(spec.command, [...spec.args], {
        cwd: spec.cwd,
        env: spec.env,
        detached: true,
        stdio: ["pipe", "pipe", "pipe"],
        windowsHide: true,
      });
    } catch (error) {
      // The supervisor says which agent could not start; this says why.
      throw new Error(spawnRefused(error));
    }
    let stderrTail = "";
    const holder: { process?: AgentProcess } = {};
    child.stderr?.setEncoding("utf8");
    child.stderr?.on("data", (text: string) => {
      stderrTail = (stderrTail + text).slice(-STDERR_TAIL_CHARS);
      if (holder.process) holder.process.stderr = stderrTail;
      for (const line of text.split("\n")) {
        if (line.trim()) spec.log.write("debug", `${spec.label}: ${line.slice(0, LOG_LINE_CHARS)}`);
      }
    });
    // A dead agent's stdin fails with EPIPE; the exit is what reports it.
    child.stdin?.on("error", () => {});
    const exited = new Promise<AgentExit>((resolve) => {
      child.once("exit", (code, signal) => resolve({ code, signal }));
      child.once("error", (error) => resolve({ code: null, signal: null, error: error.message }));
    });
    if (spawnedWithoutPipes(child)) {
      throw new Error(noFreeDescriptors((await exited).error));
    }
    const stream = ndJsonStream(
      Writable.toWeb(child.stdin as Writable) as WritableStream<Uint8Array>,
      Readable.toWeb(child.stdout as Readable) as ReadableStream<Uint8Array>,
    );
    const connection = app.connect(stream);
    void exited.then(() => connection.close(new Error("the agent process exited")));

    let timer: NodeJS.Timeout | undefined;
    try {
      const initialized = await Promise.race([
        connection.agent.request("initialize", {
          protocolVersion: PROTOCOL_VERSION,
          clientCapabilities: {
            fs: { readTextFile: true, writeTextFile: true },
            terminal: true,
            // The terminal extension: agents that run commands themselves stream their output.
            _meta: { terminal_output_delta: true },
          },
          clientInfo: { name: "runtimeuse", version: spec.version },
        }),
        exited.then((exit) => {
          throw new Error(exitedBeforeInitialize(exit));
        }),
        new Promise<never>((_, reject) => {
          timer = setTimeout(
            () => reject(new Error(`it did not answer initialize within ${spec.startTimeoutMs} ms`)),
            spec.startTimeoutMs,
          );
        }),
      ]);
      const agent = new AgentProcess(spec, child, sessions, connection, initialized, exited);
      agent.stderr = stderrTail;
      holder.process = agent;
      return agent;
    } catch (error) {
      await endTree(child, spec.killGraceMs);
      // The pipe may close a moment before the exit is reported; the exit says more.
      const exit = await Promise.race([
        exited,
        new Promise<undefined>((resolve) => setTimeout(() => resolve(undefined), 1_000)),
      ]);
      const tail = stderrTail.trim();
      const reason = exit ? exitedBeforeInitialize(exit) : error instanceof Error ? error.message : String(error);
      throw new Error(tail ? `${reason}; its stderr ends: ${tail.slice(-1000)}` : reason);
    } finally {
      clearTimeout(timer);
    }
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  get alive(): boolean {
    return this.exitInfo === undefined;
  }

  get stderrTail(): string {
    return this.stderr.trim();
  }

  /** Why the process is gone, for error messages; undefined while it runs. */
  get exitDescription(): string | undefined {
    return this.exitInfo && describeExit(this.exitInfo);
  }

  /** True once `stop()` was called: the exit that follows is not a crash. */
  get stopped(): boolean {
    return this.stopping;
  }

  /** Every live process below the agent (not the agent itself). */
  async descendants(): Promise<ProcessEntry[]> {
    const pid = this.child.pid;
    if (pid === undefined || !this.alive) return [];
    return (await processTree(pid)).slice(1);
  }

  /** Ends the agent and everything below it (SIGTERM, SIGKILL after the grace). */
  async stop(): Promise<void> {
    this.stopping = true;
    this.connection.close();
    await endTree(this.child, this.spec.killGraceMs);
  }
}

async function endTree(child: ChildProcess, graceMs: number): Promise<void> {
  const pid = child.pid;
  if (pid === undefined) return;
  const tree = await processTree(pid);
  if (tree.length === 0) return;
  await endProcesses(tree, graceMs);
}

/** Why the agent never answered `initialize`: it could not be started (Node says ENOENT for a missing command and a missing working directory alike), or it ended. */
function exitedBeforeInitialize(exit: AgentExit): string {
  if (exit.error === undefined) return `it exited before answering initialize (${describeExit(exit)})`;
  return /\bENOENT\b/.test(exit.error) ? `its command or working directory was not found (${exit.error})` : exit.error;
}

export function describeExit(exit: AgentExit): string {
  if (exit.error !== undefined) return `it could not be started: ${exit.error}`;
  if (exit.signal) return `killed by ${exit.signal}`;
  return `exit code ${exit.code}`;
}
