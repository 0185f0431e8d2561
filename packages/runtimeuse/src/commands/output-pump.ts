import type { Readable } from "node:stream";
import { StringDecoder } from "node:string_decoder";
import { StreamRedactor } from "../redact/index.js";
import { TailBuffer } from "./tail-buffer.js";
import type { OutputStream } from "./types.js";

/**
 * Reading pauses while this many pieces handed to the listener are unsettled.
 * Two, not one: a listener that is not behind returns a promise that settles
 * in the same microtask checkpoint, before the next read, so the pipe never
 * needs pausing (pausing a socket costs system calls); a listener that is
 * behind gets at most one piece more before reading stops.
 */
const MAX_OUTSTANDING = 2;

export type OutputListener = (stream: OutputStream, text: string) => void | Promise<void>;

/**
 * Reads one of a child's pipes: decodes UTF-8 across reads, redacts across
 * reads, keeps a capped tail, and hands each piece to the listener. While the
 * listener's promise is pending the pipe is paused, so a slow consumer (a
 * backed-up socket) slows the command down instead of growing memory.
 *
 * States: streaming -> (end of pipe | detached | stopped). Detached keeps
 * reading and discarding, so processes still holding the pipe never die of
 * SIGPIPE; stopped destroys the pipe.
 */
export class OutputPump {
  readonly captured: TailBuffer;
  /** Settles once the pump reached its end state and the last text was handed over. */
  readonly done: Promise<void>;
  /** Bytes read since `markExit()`. */
  bytesAfterExit = 0;
  private readonly decoder = new StringDecoder("utf8");
  private readonly redactor: StreamRedactor;
  /** False once detached or stopped: data is then drained unseen. */
  private forwarding = true;
  /** Set when the listener threw or rejected: output is still captured, no longer handed over. */
  private listenerFailed = false;
  private stopped = false;
  private settled = false;
  /** Listener promises not yet settled; reading pauses at MAX_OUTSTANDING. */
  private outstanding = 0;
  private pausedForListener = false;
  private caughtUpWaiters: Array<() => void> = [];
  private exited = false;
  private lastActivity = performance.now();
  /** Counts reads and listener catch-ups; see `activity`. */
  private events = 0;
  private resolveDone!: () => void;

  constructor(
    private readonly name: OutputStream,
    private readonly stream: Readable,
    secrets: readonly string[],
    maxCapturedBytes: number,
    private readonly listener: OutputListener | undefined,
  ) {
    this.captured = new TailBuffer(maxCapturedBytes);
    this.redactor = new StreamRedactor(secrets);
    this.done = new Promise((resolve) => {
      this.resolveDone = resolve;
    });
    stream.on("data", (chunk: Buffer) => this.onData(chunk));
    stream.once("end", () => void this.finish());
    stream.once("close", () => void this.finish());
    // A read error means the pipe is gone; what was read is kept.
    stream.on("error", () => void this.finish());
  }

  /** The shell exited: from now on `bytesAfterExit` counts. */
  markExit(): void {
    this.exited = true;
  }

  /** True once `done` has settled or is about to, with nothing left to forward. */
  get ended(): boolean {
    return this.settled;
  }

  /**
   * Changes whenever data arrives or the listener catches up. Wall-clock idle
   * time alone is not proof that the pipe is empty: a starved event loop can
   * look idle before it got to read. Two checks with no change in between
   * span a full I/O phase with reading active.
   */
  get activity(): number {
    return this.events;
  }

  /** Milliseconds since the pipe last delivered data or the listener last caught up; 0 while busy. */
  idleMs(now: number): number {
    return this.outstanding > 0 ? 0 : now - this.lastActivity;
  }

  /** Whether the listener's promise for the last piece is still pending. */
  get busy(): boolean {
    return this.outstanding > 0;
  }

  /** Resolves once every piece handed to the listener has settled. */
  private caughtUp(): Promise<void> {
    if (this.outstanding === 0) return Promise.resolve();
    return new Promise((resolve) => this.caughtUpWaiters.push(resolve));
  }

  /**
   * Stops forwarding: flushes what is held back (decoder, redactor) to the
   * listener, then keeps draining the pipe without looking at the data.
   */
  async detach(): Promise<void> {
    if (this.settled) return this.done;
    this.settled = true;
    const wasForwarding = this.forwarding;
    this.forwarding = false;
    await this.caughtUp();
    const held = this.flushHeld();
    if (wasForwarding) await this.deliver(held);
    else this.captured.push(held);
    if (!this.stopped) {
      this.stream.resume();
      (this.stream as Readable & { unref?: () => void }).unref?.();
    }
    this.resolveDone();
  }

  /**
   * Stops at once (cancel, timeout): what is held back goes to the capture
   * only, nothing more reaches the listener, and the pipe is destroyed.
   */
  stop(): void {
    this.stopped = true;
    this.forwarding = false;
    this.stream.destroy();
    if (this.settled) return;
    this.settled = true;
    this.captured.push(this.flushHeld());
    this.resolveDone();
  }

  private onData(chunk: Buffer): void {
    this.lastActivity = performance.now();
    this.events++;
    if (this.exited) this.bytesAfterExit += chunk.length;
    if (!this.forwarding) return;
    const text = this.redactor.push(this.decoder.write(chunk));
    if (text.length === 0) return;
    this.captured.push(text);
    const pending = this.callListener(text);
    if (pending === undefined) return;
    // Backpressure: reading stops while the listener is behind.
    this.outstanding++;
    if (this.outstanding >= MAX_OUTSTANDING && !this.pausedForListener) {
      this.pausedForListener = true;
      this.stream.pause();
    }
    void pending.then(() => {
      this.outstanding--;
      this.lastActivity = performance.now();
      this.events++;
      if (this.outstanding === 0) for (const wake of this.caughtUpWaiters.splice(0)) wake();
      if (this.pausedForListener && this.outstanding < MAX_OUTSTANDING) {
        this.pausedForListener = false;
        if (!this.stopped) this.stream.resume();
      }
    });
  }

  /** End of pipe: forward what is held back, once the listener caught up. */
  private async finish(): Promise<void> {
    if (this.settled) return;
    this.settled = true;
    await this.caughtUp();
    const held = this.flushHeld();
    if (this.forwarding) await this.deliver(held);
    else this.captured.push(held);
    this.resolveDone();
  }

  private flushHeld(): string {
    return this.redactor.push(this.decoder.end()) + this.redactor.end();
  }

  private async deliver(text: string): Promise<void> {
    if (text.length === 0) return;
    this.captured.push(text);
    await this.callListener(text);
  }

  /** Calls the listener; once it fails it is not called again. */
  private callListener(text: string): Promise<void> | undefined {
    if (!this.listener || this.listenerFailed) return undefined;
    try {
      const result = this.listener(this.name, text);
      if (result && typeof (result as Promise<void>).then === "function") {
        return (result as Promise<void>).catch(() => {
          this.listenerFailed = true;
        });
      }
    } catch {
      this.listenerFailed = true;
    }
    return undefined;
  }
}
