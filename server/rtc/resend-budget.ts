/**
 * The span over which a viewer's resends may use up their rate, ms
 * (libwebrtc's retransmission rate limiter counts over the same).
 */
export const RESEND_WINDOW_MS = 500;

/**
 * What one viewer track's resends may take of its link: bytes at a rate
 * set with each NACK (what the link is known to carry), at most
 * RESEND_WINDOW_MS of it at once. A resend goes while any byte is left (the
 * last may overdraw it). Without a rate (Infinity) every resend goes. Pure:
 * the caller passes the time.
 *
 * Why: a viewer joining behind a thin link on a layer far above it loses
 * most of each frame and asks for 20–70 packets every 30 ms. Answered in
 * full (behind 400 kbit/s: 2,000–3,400 resends in its first 8 s, where
 * the link carries about 360 such packets in all), the resends crowded the
 * link ahead of the keyframe of the layer it was being moved to.
 */
export class ResendBudget {
  /** Bytes left; below zero after an overdraw. */
  private bytes = 0;
  private at: number | undefined;
  private rateBps = Infinity;

  /** Brings the budget to `now` at `rateBps` (bit/s; Infinity: no limit). */
  refill(now: number, rateBps: number): void {
    if (!(rateBps > 0) || rateBps === Infinity) {
      this.rateBps = Infinity;
      this.at = undefined;
      return;
    }
    const cap = (rateBps / 8) * (RESEND_WINDOW_MS / 1000);
    // A budget starts full: the first resends after a limit is set are not held back.
    this.bytes = this.at === undefined ? cap : Math.min(cap, this.bytes + ((now - this.at) * rateBps) / 8000);
    this.at = now;
    this.rateBps = rateBps;
  }

  /** True while a resend may go. */
  get open(): boolean {
    return this.rateBps === Infinity || this.bytes > 0;
  }

  /** Counts a resend of `bytes` against the budget. */
  spend(bytes: number): void {
    if (this.rateBps !== Infinity) this.bytes -= bytes;
  }
}
