import { CleanLink } from "../../server/protocol/clean-link.js";
import type { StatsSample } from "./stats-summary.js";

/**
 * The viewer's side of a lossy link: how long its browser's jitter buffer
 * should hold video (`RTCRtpReceiver.jitterBufferTarget`) so that a
 * resend arrives before its frame is due. A packet's loss shows when the
 * next one arrives (up to a frame later on a thin layer), the NACK and the
 * resend take a round trip, and the link's jitter spreads both; a frame
 * whose resend comes later than its turn shows as a freeze. Over 5 % loss
 * and 40 ± 30 ms each way Chromium's own buffer held frames about 55 ms,
 * and 4–5 % of the time went in pauses over 150 ms, against none to 2 %
 * with a 150 ms target.
 *
 * While the link is clean (server/protocol/clean-link.ts, the rule by which
 * the server sends zero playout delay, applied to the NACKs the page counts
 * itself) the buffer is the browser's;
 * from the first NACK the viewer sends it is REPAIR_RTT_SHARE of the round
 * trip plus REPAIR_MARGIN_MS, at most REPAIR_MAX_MS, and
 * follows the round trip when it moves by RETARGET_SHARE. Pure (no DOM;
 * watch.ts sets the target): samples carry their clock.
 */

const REPAIR_RTT_SHARE = 1.25;
export const REPAIR_MARGIN_MS = 50;
export const REPAIR_MAX_MS = 500;
/** The target is set again when the round trip moves it by this share. */
const RETARGET_SHARE = 0.2;

/** The jitter buffer target for a link whose round trip is `rttMs` (REPAIR_MARGIN_MS while none is known). */
export function repairTargetFor(rttMs: number | null): number {
  const rtt = rttMs !== null && Number.isFinite(rttMs) && rttMs > 0 ? rttMs : 0;
  return Math.round(Math.min(REPAIR_MAX_MS, REPAIR_RTT_SHARE * rtt + REPAIR_MARGIN_MS));
}

export class RepairBuffer {
  private readonly link = new CleanLink();
  private lastNacks: number | null = null;
  private _targetMs: number | null = null;

  /** The target set now, ms, or null while the browser keeps its own. */
  get targetMs(): number | null {
    return this._targetMs;
  }

  /**
   * Takes the next stats sample: returns the target to set now (ms), null
   * to hand the buffer back to the browser, or undefined when it stays.
   */
  update(sample: Pick<StatsSample, "at" | "nackCount" | "rttMs">): number | null | undefined {
    const nacks = sample.nackCount;
    if (nacks !== null) {
      if (nacks > (this.lastNacks ?? 0)) this.link.nack(sample.at);
      this.lastNacks = nacks;
    }
    if (this.link.clean(sample.at)) {
      if (this._targetMs === null) return undefined;
      this._targetMs = null;
      return null;
    }
    // A sample without a round trip (a new candidate pair) keeps the target it has.
    if (sample.rttMs === null && this._targetMs !== null) return undefined;
    const want = repairTargetFor(sample.rttMs);
    if (this._targetMs !== null && Math.abs(want - this._targetMs) < RETARGET_SHARE * this._targetMs) return undefined;
    this._targetMs = want;
    return want;
  }
}
