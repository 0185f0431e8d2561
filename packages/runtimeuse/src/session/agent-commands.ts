import type { CommandOutcome } from "../commands/index.js";

/**
 * The commands the agent started through `runCommand` in its turn and that
 * still run (made on the first): the end of the turn kills them and waits for
 * them to be gone, an interrupted turn's included.
 */
export class AgentCommands {
  private readonly running = new Set<Promise<CommandOutcome>>();
  /** Fires when the handler returned with commands still running. */
  private readonly turnEnded = new AbortController();

  get signal(): AbortSignal {
    return this.turnEnded.signal;
  }

  get size(): number {
    return this.running.size;
  }

  add(running: Promise<CommandOutcome>): void {
    this.running.add(running);
    void running.finally(() => this.running.delete(running)).catch(() => {});
  }

  /**
   * The turn is over: what still runs is killed with its process group (those
   * an interrupt killed already too); resolves once all are gone, SIGKILL after
   * the kill grace included.
   */
  end(): Promise<unknown> {
    this.turnEnded.abort(new Error("the agent's turn ended"));
    return Promise.allSettled([...this.running]);
  }
}
