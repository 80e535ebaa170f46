/** A viewer's input limit: `rate` lines a second, in bursts of half that. */
export function inputBucket(rate: number): TokenBucket {
  return new TokenBucket(rate, Math.max(1, Math.floor(rate / 2)));
}

/**
 * A token bucket: `rate` tokens per second, holding at most `burst`. Pure:
 * the caller passes the time, so tests are exact.
 */
export class TokenBucket {
  private tokens: number;
  private last: number | undefined;

  constructor(
    readonly rate: number,
    readonly burst: number,
  ) {
    if (!(rate > 0) || !(burst >= 1)) throw new TypeError("rate must be > 0 and burst >= 1");
    this.tokens = burst;
  }

  /** Takes one token at time `nowMs`; false when the bucket is empty. */
  take(nowMs: number): boolean {
    if (this.last !== undefined && nowMs > this.last) {
      this.tokens = Math.min(this.burst, this.tokens + ((nowMs - this.last) * this.rate) / 1000);
    }
    if (this.last === undefined || nowMs > this.last) this.last = nowMs;
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }
}
