/**
 * Whether a viewer's link is clean (no packet asked for again lately), as
 * the server's playout delay (server/rtc/fast-sender.ts) and the viewer
 * page's repair buffer (web/src/repair-buffer.ts) both read it: clean at
 * first, not clean from the first NACK, clean again only after
 * CLEAN_AFTER_MS without one; a link that keeps losing now and then waits
 * twice as long each time (up to CLEAN_AFTER_MAX_MS), so neither side
 * flaps. Pure: the clock is passed in.
 */

/** A link is clean once it went this long without a NACK, ms; each time it stops being clean the wait doubles. */
export const CLEAN_AFTER_MS = 10_000;
/** The longest wait for a clean link, ms. */
export const CLEAN_AFTER_MAX_MS = 300_000;

export class CleanLink {
  private lastNackAt = -Infinity;
  private cleanAfterMs = CLEAN_AFTER_MS;
  private leftBefore = false;
  private _clean = true;

  /** The viewer asked for packets again (a NACK). */
  nack(now: number): void {
    if (this._clean) {
      this._clean = false;
      // Clean again only after a longer spell than the last time it had to leave.
      if (this.leftBefore) this.cleanAfterMs = Math.min(CLEAN_AFTER_MAX_MS, this.cleanAfterMs * 2);
      this.leftBefore = true;
    }
    this.lastNackAt = now;
  }

  /** True while the link counts as clean. */
  clean(now: number): boolean {
    if (!this._clean && now - this.lastNackAt >= this.cleanAfterMs) this._clean = true;
    return this._clean;
  }
}
