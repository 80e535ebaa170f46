/** Timer functions, injectable so tests drive time exactly. */
export interface Timers {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

/** The real clock and timers. */
export const realTimers: Timers = {
  now: () => performance.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
};

/**
 * Coalesces keyframe requests for one source: at most one request goes to the
 * device per interval; requests inside the interval collapse into one that is
 * sent when the interval ends.
 */
export class KeyframeRequester {
  private lastSentAt = -Infinity;
  private pending: unknown;
  private closed = false;
  /** Requests that reached the device. */
  sent = 0;
  /** Requests that were folded into another. */
  coalesced = 0;

  constructor(
    private readonly send: () => void,
    private readonly intervalMs = 500,
    private readonly timers: Timers = realTimers,
  ) {}

  /** Asks for a keyframe now, or at the end of the current interval. */
  request(): void {
    if (this.closed) return;
    if (this.pending !== undefined) {
      this.coalesced++;
      return;
    }
    const wait = this.lastSentAt + this.intervalMs - this.timers.now();
    if (wait <= 0) {
      this.fire();
      return;
    }
    this.pending = this.timers.setTimeout(() => {
      this.pending = undefined;
      this.fire();
    }, wait);
  }

  /** Stops any pending request; later requests are ignored. */
  close(): void {
    this.closed = true;
    if (this.pending !== undefined) this.timers.clearTimeout(this.pending);
    this.pending = undefined;
  }

  private fire(): void {
    if (this.closed) return;
    this.lastSentAt = this.timers.now();
    this.sent++;
    this.send();
  }
}
