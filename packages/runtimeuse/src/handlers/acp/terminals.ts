import type {
  CreateTerminalRequest,
  TerminalExitStatus,
  TerminalOutputResponse,
  WaitForTerminalExitResponse,
} from "@agentclientprotocol/sdk/unstable";
import { RequestError } from "@agentclientprotocol/sdk/unstable";
import { type CommandOutcome, TailBuffer } from "../../commands/index.js";
import type { AgentInvocation } from "../../handler.js";

interface Terminal {
  output: TailBuffer;
  abort: AbortController;
  done: Promise<CommandOutcome>;
  exit: TerminalExitStatus | undefined;
}

/**
 * The `terminal/*` callbacks of one request: each terminal is a command run
 * through the runtime's command runner (`invocation.runCommand`), so its
 * output streams to the client as `command_output_message`s (redacted), it
 * gets `agent_env`, and it is killed with its whole process group on kill,
 * release, cancel and the end of the request. The agent reads back the last
 * `outputByteLimit` bytes (stdout and stderr interleaved as they arrived).
 */
export class AcpTerminals {
  private readonly terminals = new Map<string, Terminal>();
  /** Every terminal id handed out, released ones too. */
  private readonly issued = new Set<string>();
  private next = 1;

  constructor(
    private readonly invocation: AgentInvocation,
    private readonly cwd: string,
    private readonly defaultOutputBytes: number,
  ) {}

  create(params: CreateTerminalRequest): { terminalId: string } {
    const terminalId = `term-${this.next++}`;
    this.issued.add(terminalId);
    const command = commandLine(params.command, params.args ?? []);
    const limit = params.outputByteLimit ?? this.defaultOutputBytes;
    const output = new TailBuffer(Math.max(0, limit));
    const abort = new AbortController();
    const env = Object.fromEntries((params.env ?? []).map((variable) => [variable.name, variable.value]));
    const terminal: Terminal = {
      output,
      abort,
      exit: undefined,
      done: this.invocation.runCommand(command, {
        cwd: params.cwd ?? this.cwd,
        env,
        signal: abort.signal,
        maxCapturedBytes: 64 * 1024,
        onOutput: (_stream, text) => output.push(text),
      }),
    };
    // A command that could not start (the agent's turn is over) rejects its waits, not the process.
    terminal.done.then(
      (outcome) => {
        terminal.exit = exitStatus(outcome);
      },
      () => {},
    );
    this.terminals.set(terminalId, terminal);
    return { terminalId };
  }

  /** Whether this id is one of the terminals the runtime ran for the agent. */
  has(terminalId: string): boolean {
    return this.issued.has(terminalId);
  }

  output(terminalId: string): TerminalOutputResponse {
    const terminal = this.get(terminalId);
    return {
      output: terminal.output.text(),
      truncated: terminal.output.truncated,
      ...(terminal.exit ? { exitStatus: terminal.exit } : {}),
    };
  }

  async waitForExit(terminalId: string, signal: AbortSignal): Promise<WaitForTerminalExitResponse> {
    const terminal = this.get(terminalId);
    const stopped = new Promise<never>((_, reject) => {
      if (signal.aborted) reject(RequestError.requestCancelled());
      signal.addEventListener("abort", () => reject(RequestError.requestCancelled()), { once: true });
    });
    return exitStatus(await Promise.race([terminal.done, stopped]));
  }

  async kill(terminalId: string): Promise<void> {
    const terminal = this.get(terminalId);
    terminal.abort.abort();
    await terminal.done;
  }

  async release(terminalId: string): Promise<void> {
    const terminal = this.get(terminalId);
    this.terminals.delete(terminalId);
    terminal.abort.abort();
    await terminal.done;
  }

  /** Ends every terminal still running (the request is over). */
  async closeAll(): Promise<void> {
    const all = [...this.terminals.values()];
    this.terminals.clear();
    for (const terminal of all) terminal.abort.abort();
    await Promise.all(all.map((terminal) => terminal.done));
  }

  private get(terminalId: string): Terminal {
    const terminal = this.terminals.get(terminalId);
    if (terminal === undefined) throw RequestError.resourceNotFound(terminalId);
    return terminal;
  }
}

/**
 * The shell line the runner gets. Without `args`, `command` is taken as a
 * shell command line (as agents that run `bash -c`-style strings send it);
 * with `args`, each part is quoted so it reaches the program unchanged.
 */
export function commandLine(command: string, args: readonly string[]): string {
  if (args.length === 0) return command;
  return [command, ...args].map(shellQuote).join(" ");
}

function shellQuote(word: string): string {
  if (/^[A-Za-z0-9_@%+=:,./-]+$/.test(word)) return word;
  return `'${word.replaceAll("'", "'\\''")}'`;
}

function exitStatus(outcome: CommandOutcome): TerminalExitStatus {
  return outcome.signal ? { exitCode: null, signal: outcome.signal } : { exitCode: outcome.exitCode };
}
