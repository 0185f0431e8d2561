import { DEFAULT_HEARTBEAT_INTERVAL_MS, DEFAULT_WIND_DOWN_TIMEOUT_MS } from "../session-defaults.js";

export interface SessionTimerOptions {
  /** Default `DEFAULT_HEARTBEAT_INTERVAL_MS`. */
  heartbeatIntervalMs?: number | undefined;
  /** Default `DEFAULT_WIND_DOWN_TIMEOUT_MS`. */
  windDownTimeoutMs?: number | undefined;
  /** A heartbeat is due; return false when no request is in flight, which stops the beat. */
  beat(): boolean;
  /** The previous runner did not wind down in time. */
  windDownExpired(): void;
}

/**
 * The clock of one session: the heartbeat interval while requests run and
 * the wind-down wait before a queued request. Neither keeps the process
 * alive on its own account beyond the session (the heartbeat is unref'd).
 */
export class SessionTimers {
  private heartbeat: NodeJS.Timeout | undefined;
  /** When the next heartbeat is due (`performance.now()` time): an interval after the latest request's start. */
  private beatDueAt = 0;
  private windDown: NodeJS.Timeout | undefined;

  constructor(private readonly options: SessionTimerOptions) {}

  /**
   * A request started: beat every interval from now. Back-to-back requests
   * only move the due time; the running timer, when it fires early for a
   * request that started since, waits out the rest (cheaper than re-arming a
   * timer per request).
   */
  startHeartbeat(): void {
    const interval = this.interval;
    this.beatDueAt = performance.now() + interval;
    if (this.heartbeat === undefined) this.armHeartbeat(interval);
  }

  stopHeartbeat(): void {
    if (this.heartbeat) clearTimeout(this.heartbeat);
    this.heartbeat = undefined;
  }

  private get interval(): number {
    return this.options.heartbeatIntervalMs ?? DEFAULT_HEARTBEAT_INTERVAL_MS;
  }

  private armHeartbeat(delayMs: number): void {
    this.heartbeat = setTimeout(() => {
      this.heartbeat = undefined;
      const early = this.beatDueAt - performance.now();
      if (early >= 1) {
        this.armHeartbeat(early);
        return;
      }
      if (!this.options.beat()) return;
      this.beatDueAt = performance.now() + this.interval;
      this.armHeartbeat(this.interval);
    }, delayMs);
    this.heartbeat.unref();
  }

  startWindDown(): void {
    this.clearWindDown();
    this.windDown = setTimeout(
      () => this.options.windDownExpired(),
      this.options.windDownTimeoutMs ?? DEFAULT_WIND_DOWN_TIMEOUT_MS,
    );
  }

  clearWindDown(): void {
    if (this.windDown) clearTimeout(this.windDown);
    this.windDown = undefined;
  }

  clear(): void {
    this.stopHeartbeat();
    this.clearWindDown();
  }
}
