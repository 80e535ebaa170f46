/**
 * Failed logins per client address, as a token bucket per address: each
 * failure takes a token, tokens come back at `ratePerMinute`, and while an
 * address has none left its logins are refused unchecked. Pure: the caller
 * passes the time.
 */

interface Bucket {
  tokens: number;
  at: number;
}

/** What BasicAuthenticator asks of a limiter: this node's LoginLimiter, or one a cluster shares. */
export interface LoginLimits {
  /** Seconds until `address` may try again; 0 when it may now. */
  retryAfter(address: string, nowMs: number): number | Promise<number>;
  /** Records a failed login from `address`. */
  failed(address: string, nowMs: number): void | Promise<void>;
}

/** Rate limits failed logins by address. */
export class LoginLimiter implements LoginLimits {
  private readonly buckets = new Map<string, Bucket>();

  constructor(
    /** Failures an address may make in a row. */
    readonly burst = 10,
    /** Failures forgiven per minute. */
    readonly ratePerMinute = 10,
    /** Addresses tracked at most; the oldest is forgotten first. */
    readonly maxAddresses = 10_000,
  ) {
    if (!(burst >= 1) || !(ratePerMinute > 0)) throw new TypeError("burst must be >= 1 and ratePerMinute > 0");
  }

  private refill(address: string, nowMs: number): Bucket | undefined {
    const b = this.buckets.get(address);
    if (!b) return undefined;
    if (nowMs > b.at) {
      b.tokens = Math.min(this.burst, b.tokens + ((nowMs - b.at) * this.ratePerMinute) / 60_000);
      b.at = nowMs;
    }
    if (b.tokens >= this.burst) {
      this.buckets.delete(address);
      return undefined;
    }
    return b;
  }

  /** Seconds until `address` may try again; 0 when it may now. */
  retryAfter(address: string, nowMs: number): number {
    const b = this.refill(address, nowMs);
    if (!b || b.tokens >= 1) return 0;
    return ((1 - b.tokens) * 60) / this.ratePerMinute;
  }

  /** Records a failed login from `address`. */
  failed(address: string, nowMs: number): void {
    let b = this.refill(address, nowMs);
    if (!b) {
      if (this.buckets.size >= this.maxAddresses) this.buckets.delete(this.buckets.keys().next().value as string);
      b = { tokens: this.burst, at: nowMs };
      this.buckets.set(address, b);
    }
    b.tokens = Math.max(0, b.tokens - 1);
  }

  /** Addresses currently tracked (for tests). */
  get size(): number {
    return this.buckets.size;
  }
}
