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
 * Coalesces keyframe requests for one source. A request is sent at once
 * when none was sent for `intervalMs`; inside that, requests collapse into
 * one sent when the interval ends. A keyframe arriving answers every
 * request made before it (each waits for the next keyframe, whoever asked):
 * the collapsed request is dropped, and the next one may go `answeredGapMs`
 * after the last instead of the whole interval. So a viewer that joins just
 * after another viewer's keyframe came waits for one encoder round trip,
 * not for the rest of the interval, while the device still sees at most
 * one request outstanding and none closer than `answeredGapMs`.
 */
export class KeyframeRequester {
  private lastSentAt = -Infinity;
  /** A keyframe arrived since the last request was sent. */
  private answered = false;
  private pending: unknown;
  private closed = false;
  /** Requests that reached the device. */
  sent = 0;
  /** Requests that were folded into another (or answered by a keyframe before they went out). */
  coalesced = 0;

  constructor(
    private readonly send: () => void,
    private readonly intervalMs = 500,
    private readonly timers: Timers = realTimers,
    private readonly answeredGapMs = Math.min(200, intervalMs),
  ) {}

  /** Asks for a keyframe now, or when the current interval ends. */
  request(): void {
    if (this.closed) return;
    if (this.pending !== undefined) {
      this.coalesced++;
      return;
    }
    const wait = this.lastSentAt + (this.answered ? this.answeredGapMs : this.intervalMs) - this.timers.now();
    if (wait <= 0) {
      this.fire();
      return;
    }
    this.pending = this.timers.setTimeout(() => {
      this.pending = undefined;
      this.fire();
    }, wait);
  }

  /** A keyframe came from the source: it answers every request so far. */
  keyframeArrived(): void {
    this.answered = true;
    if (this.pending === undefined) return;
    this.timers.clearTimeout(this.pending);
    this.pending = undefined;
    this.coalesced++;
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
    this.answered = false;
    this.sent++;
    this.send();
  }
}
