export interface AuthThrottleOptions {
  /** Failed attempts an address may make before it is locked out. Default 5. */
  freeFailures?: number;
  /** Lockout after the first failure past the free ones; doubles with each further failure. Default 1 s. */
  baseDelayMs?: number;
  /** Longest lockout. Default 60 s. */
  maxDelayMs?: number;
  /** An address with no failure for this long starts afresh. Default 15 min. */
  forgetAfterMs?: number;
  /** Addresses tracked at once; the least recently failed is forgotten first. Default 10,000. */
  maxTracked?: number;
  /** Monotonic clock in milliseconds (tests). */
  now?: () => number;
}

export const AUTH_THROTTLE_DEFAULTS = {
  freeFailures: 5,
  baseDelayMs: 1_000,
  maxDelayMs: 60_000,
  forgetAfterMs: 15 * 60_000,
  maxTracked: 10_000,
} as const;

interface Entry {
  failures: number;
  lockedUntil: number;
  lastFailure: number;
}

/**
 * Slows down token guessing: each address gets a few free failures, then is
 * locked out for a time that doubles with every further failure. While locked
 * out, its upgrades are refused with 429 before the token is even looked at,
 * so a lucky guess during a lockout gains nothing.
 *
 * Memory is bounded by `maxTracked`. Behind a proxy every client shares the
 * proxy's address, so one guesser delays everyone there: the price of not
 * trusting spoofable forwarding headers.
 */
export class AuthThrottle {
  private readonly entries = new Map<string, Entry>();
  private readonly settings: Required<Omit<AuthThrottleOptions, "now">>;
  private readonly now: () => number;

  constructor(options: AuthThrottleOptions = {}) {
    this.settings = {
      freeFailures: options.freeFailures ?? AUTH_THROTTLE_DEFAULTS.freeFailures,
      baseDelayMs: options.baseDelayMs ?? AUTH_THROTTLE_DEFAULTS.baseDelayMs,
      maxDelayMs: options.maxDelayMs ?? AUTH_THROTTLE_DEFAULTS.maxDelayMs,
      forgetAfterMs: options.forgetAfterMs ?? AUTH_THROTTLE_DEFAULTS.forgetAfterMs,
      maxTracked: Math.max(1, options.maxTracked ?? AUTH_THROTTLE_DEFAULTS.maxTracked),
    };
    this.now = options.now ?? (() => performance.now());
  }

  /** Addresses currently tracked. */
  get size(): number {
    return this.entries.size;
  }

  /** Milliseconds this address must still wait; 0 when it may try. */
  retryAfterMs(address: string): number {
    const entry = this.current(address);
    return entry ? Math.max(0, Math.ceil(entry.lockedUntil - this.now())) : 0;
  }

  /** Records a failed attempt; returns the lockout it starts (0 while failures are still free). */
  recordFailure(address: string): number {
    const now = this.now();
    const entry = this.current(address) ?? { failures: 0, lockedUntil: 0, lastFailure: now };
    entry.failures += 1;
    entry.lastFailure = now;
    const over = entry.failures - this.settings.freeFailures;
    const delay =
      over > 0 ? Math.min(this.settings.maxDelayMs, this.settings.baseDelayMs * 2 ** Math.min(over - 1, 30)) : 0;
    entry.lockedUntil = now + delay;
    // Re-inserting keeps the map ordered by last failure, oldest first.
    this.entries.delete(address);
    while (this.entries.size >= this.settings.maxTracked) {
      const oldest = this.entries.keys().next();
      if (oldest.done) break;
      this.entries.delete(oldest.value);
    }
    this.entries.set(address, entry);
    return delay;
  }

  /** A successful attempt clears the address's record. */
  recordSuccess(address: string): void {
    this.entries.delete(address);
  }

  private current(address: string): Entry | undefined {
    const entry = this.entries.get(address);
    if (entry === undefined) return undefined;
    if (this.now() - entry.lastFailure > this.settings.forgetAfterMs && this.now() >= entry.lockedUntil) {
      this.entries.delete(address);
      return undefined;
    }
    return entry;
  }
}
