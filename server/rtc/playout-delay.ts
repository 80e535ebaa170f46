/**
 * The playout-delay header extension (webrtc.org's
 * `rtp-hdrext/playout-delay`): the sender tells the receiver the least and
 * the most its jitter buffer may hold a frame. 0–0 makes Chromium show each
 * frame as soon as it is decoded; anything else leaves it to its own
 * jitter buffer within the bounds.
 */
export const PLAYOUT_DELAY_URI = "http://www.webrtc.org/experiments/rtp-hdrext/playout-delay";

/** The extension's value: min and max in 10 ms units, 12 bits each (a 24-bit field). */
export function playoutDelayValue(minMs: number, maxMs: number): number {
  const unit = (ms: number) => Math.max(0, Math.min(0xfff, Math.round(ms / 10)));
  return (unit(minMs) << 12) | unit(maxMs);
}

/** Render at once: no jitter buffer. */
export const ZERO_DELAY = playoutDelayValue(0, 0);
/** The browser's own jitter buffer, as without the extension (Chromium's defaults: 0 to 10 s). */
export const BROWSER_DELAY = playoutDelayValue(0, 10_000);

/** A link is clean once it went this long without a NACK, ms; each time it stops being clean the wait doubles. */
export const CLEAN_AFTER_MS = 10_000;
/** The longest wait for a clean link, ms. */
export const CLEAN_AFTER_MAX_MS = 300_000;

/**
 * Which playout delay one viewer's video gets: zero while its link is
 * clean, the browser's own otherwise. With no jitter buffer a frame waiting
 * for a resend shows as a freeze, so the first NACK from the viewer hands
 * the buffer back at once, and zero returns only after CLEAN_AFTER_MS
 * without one; a link that keeps losing now and then waits twice as long
 * each time (up to CLEAN_AFTER_MAX_MS), so it does not flap. Pure: the
 * clock is passed in. (`--playout-delay browser` does not offer the
 * extension, so no policy runs.)
 */
export class PlayoutDelayPolicy {
  private lastNackAt = -Infinity;
  private cleanAfterMs = CLEAN_AFTER_MS;
  private leftBefore = false;
  private zero = true;

  /** The viewer asked for packets again (a NACK). */
  nack(now: number): void {
    if (this.zero) {
      this.zero = false;
      // Back to zero only after a longer clean spell than the last time it had to leave.
      if (this.leftBefore) this.cleanAfterMs = Math.min(CLEAN_AFTER_MAX_MS, this.cleanAfterMs * 2);
      this.leftBefore = true;
    }
    this.lastNackAt = now;
  }

  /** True when the video sent now goes with zero playout delay. */
  zeroDelay(now: number): boolean {
    if (!this.zero && now - this.lastNackAt >= this.cleanAfterMs) this.zero = true;
    return this.zero;
  }
}
