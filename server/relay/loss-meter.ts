/** Loss is measured over the receiver reports of about this long, ms. */
export const LOSS_WINDOW_MS = 1000;
/** ...and over at least this many packets the viewer expected, however long that takes (libwebrtc's loss estimate waits for 20). */
export const LOSS_MIN_PACKETS = 20;

/**
 * A report whose highest sequence number is at most this far behind the
 * newest kept was overtaken on the way (RTCP meets the link's jitter too:
 * at 40 ± 30 ms each way, Chromium's reports, several every 10 ms, arrived
 * out of order all the time) and adds nothing; further behind, the viewer's
 * counts started again (a new stream).
 */
const LATE_REPORT_PACKETS = 1000;
/** Reports kept at most: a viewer that reports often while little arrives (or a hostile one) does not grow the window without end. */
const MAX_REPORTS = 64;

/** What the meter reads of one receiver report block (RFC 3550 6.4.1). */
export interface ReportCounts {
  /** The extended highest sequence number received, cumulative. */
  highestSequence: number;
  /** The share lost since the viewer's previous report, 0–255. */
  fractionLost: number;
  /** Packets lost since the stream began: expected less received (what arrives twice counts twice). */
  packetsLost: number;
}

/**
 * The share of a down track's packets its viewer lost lately, before any
 * resend, over the reports of about LOSS_WINDOW_MS (and at least
 * LOSS_MIN_PACKETS). Two ways to count, chosen per report:
 * - `cumulative` (resends go on RTX, so nothing resent is counted on the
 *   video's SSRC): the rise in the reports' count of lost packets, over the
 *   rise in their highest sequence number. A packet that overtook another
 *   is counted lost in one report and found in the next: they cancel.
 * - otherwise (resends on the video's own SSRC): each report's fraction
 *   lost weighed by the packets it covers. Not the count: resends arriving
 *   lower it, and at 20 % random loss it read about 0. A browser sends a
 *   report with every NACK and REMB, several a second on a lossy link, and
 *   each one's fraction covers only the few packets since the one before:
 *   read one at a time they said 0 % and 98 % in turn over a link that
 *   dropped most of what it carried. This way reads high on a link that
 *   reorders: a report's fraction counts a packet still on its way as lost,
 *   and never goes below zero when it arrives (libwebrtc's receiver; a
 *   model of it read 2.2 % on a link that lost nothing but delayed each
 *   packet 40 ± 30 ms, at 40 packets/s).
 */
export class LossMeter {
  /** Reports kept, oldest first, with the packets counted lost up to each and the relay's resends by then: the oldest is the window's start. */
  private readonly reports: { at: number; highest: number; lost: number; resent: number }[] = [];
  private first: number | undefined;
  /** How the reports kept are read. */
  private cumulative = false;

  /**
   * Adds a report; `cumulative` when the viewer's resends come on RTX (see
   * above); `resent`, the packets the relay has resent to it so far.
   */
  add(counts: ReportCounts, now: number, cumulative = false, resent = 0): void {
    const { highestSequence: highest, fractionLost } = counts;
    const last = this.reports.at(-1);
    if (last && highest < last.highest && last.highest - highest <= LATE_REPORT_PACKETS) return;
    // The viewer's counts went back (a new stream), or are to be read the other way: start again.
    if (last && (highest < last.highest || cumulative !== this.cumulative)) this.reports.length = 0;
    this.cumulative = cumulative;
    const before = this.reports.at(-1);
    if (!before) this.first = fractionLost / 256;
    const lost = cumulative ? counts.packetsLost : before ? before.lost + (fractionLost / 256) * (highest - before.highest) : 0;
    this.reports.push({ at: now, highest, lost, resent });
    // The window's start moves up while the report after it is old enough and still spans enough packets.
    while (this.reports.length > 2 && this.reports[1].at <= now - LOSS_WINDOW_MS && highest - this.reports[1].highest >= LOSS_MIN_PACKETS) {
      this.reports.shift();
    }
    if (this.reports.length > MAX_REPORTS) this.reports.shift();
  }

  /** The share lost over the window (0–1); from one report only, its own fraction; undefined before any. */
  get loss(): number | undefined {
    const start = this.reports[0];
    const end = this.reports.at(-1);
    if (!start || !end) return undefined;
    const expected = end.highest - start.highest;
    if (expected <= 0) return this.reports.length === 1 ? this.first : 0;
    return Math.min(1, Math.max(0, (end.lost - start.lost) / expected));
  }

  /** True once the reports kept span LOSS_MIN_PACKETS of the viewer's packets: `loss` is more than one report's fraction. */
  get settled(): boolean {
    const start = this.reports[0];
    const end = this.reports.at(-1);
    return start !== undefined && end !== undefined && end.highest - start.highest >= LOSS_MIN_PACKETS;
  }

  /**
   * Packets the relay resent over the window, as a share of those the viewer
   * expected (0 before two reports): what the link cost in repair, whether
   * the packets asked for again were lost or only late. On a link that
   * reorders, a browser asks for packets that are merely late: at 5 % loss
   * and 40 ± 30 ms each way, the 1280 px layer's resends came to 60–85 %
   * of its packets, nearly all of them duplicates.
   */
  get resendShare(): number {
    const start = this.reports[0];
    const end = this.reports.at(-1);
    const expected = start && end ? end.highest - start.highest : 0;
    return expected > 0 ? Math.min(1, Math.max(0, (end!.resent - start.resent) / expected)) : 0;
  }
}
