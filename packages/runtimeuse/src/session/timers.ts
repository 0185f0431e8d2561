/** Interval between heartbeats while a request is in flight. */
export const DEFAULT_HEARTBEAT_INTERVAL_MS = 15_000;
/** How long a request waits for the previous request's runner to wind down before it starts anyway. */
export const DEFAULT_WIND_DOWN_TIMEOUT_MS = 5_000;

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
  private windDown: NodeJS.Timeout | undefined;

  constructor(private readonly options: SessionTimerOptions) {}

  /** A request started: beat every interval from now (back to back requests restart the running countdown). */
  startHeartbeat(): void {
    if (this.heartbeat) {
      // Refreshing costs less than allocating a new timer per request.
      this.heartbeat.refresh();
      return;
    }
    this.heartbeat = setInterval(() => {
      if (!this.options.beat()) this.stopHeartbeat();
    }, this.options.heartbeatIntervalMs ?? DEFAULT_HEARTBEAT_INTERVAL_MS);
    this.heartbeat.unref();
  }

  stopHeartbeat(): void {
    if (this.heartbeat) clearInterval(this.heartbeat);
    this.heartbeat = undefined;
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
