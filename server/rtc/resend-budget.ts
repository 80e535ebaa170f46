import { LOSS_HEAVY } from "../relay/layer-tuning.js";

/**
 * The span over which a viewer's resends may use up their rate, ms
 * (libwebrtc's retransmission rate limiter counts over the same).
 */
export const RESEND_WINDOW_MS = 500;

/**
 * The least a viewer's resends may take of its link, bit/s: a link that
 * delivered next to nothing still gets a keyframe's missing packets in time.
 */
export const RESEND_FLOOR_BPS = 64_000;

/**
 * What a viewer's video resends may take of its link, bit/s (the rate of
 * its ResendBudget), libwebrtc's way: no more than the link is known to
 * carry, here the larger of the viewer's estimate `remb` (0: none yet) and
 * what got through of its layer (`layerBps` × (1 − `lost`), `lost` the
 * share it lost lately, undefined until measured). Before the viewer's
 * first REMB (which can take seconds), only a link that loses most of what
 * it is sent (LOSS_HEAVY) is known to be full, and nothing limits the
 * resends: behind 5 % loss and 40 ± 30 ms each way, a joining viewer read
 * 7–22 % lost (packets overtaken on the way count lost until they come)
 * and asked for what was only late, and a budget of its layer's rate held
 * back 1–29 packets of a NACK in its first 2.4 s in each of three traced
 * runs. Infinity: no limit.
 */
export function resendRateBps(remb: number, lost: number | undefined, layerBps: number): number {
  const estimate = remb > 0 ? remb : 0;
  if (estimate === 0 && (lost === undefined || lost < LOSS_HEAVY)) return Infinity;
  const through = lost === undefined ? 0 : layerBps * (1 - lost);
  return Math.max(RESEND_FLOOR_BPS, estimate, through);
}

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
