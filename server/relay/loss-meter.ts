/** Loss is measured over the receiver reports of about this long, ms. */
export const LOSS_WINDOW_MS = 1000;
/** ...and over at least this many packets the viewer expected, however long that takes (libwebrtc's loss estimate waits for 20). */
export const LOSS_MIN_PACKETS = 20;

/** Reports kept at most: a viewer that reports often while little arrives (or a hostile one) does not grow the window without end. */
const MAX_REPORTS = 64;

/** What the meter reads of one receiver report block (RFC 3550 6.4.1). */
export interface ReportCounts {
  /** The extended highest sequence number received, cumulative. */
  highestSequence: number;
  /** The share lost since the viewer's previous report, 0–255. */
  fractionLost: number;
}

/**
 * The share of a down track's packets its viewer lost lately, before any
 * resend: each report's fraction weighed by the packets it covers (the
 * rise in its highest sequence number since the report before), summed
 * over the reports of about LOSS_WINDOW_MS (and at least LOSS_MIN_PACKETS).
 * A report's own fraction covers only the few packets since the viewer's
 * previous report, and a browser sends one with every NACK and REMB,
 * several a second on a lossy link: read one at a time they said 0 % and
 * 98 % in turn over a link that dropped most of what it carried. Not the
 * reports' cumulative count of lost packets: the relay resends on the
 * video's own SSRC, so that count falls as resends arrive and showed no
 * loss on a link that dropped a fifth of the packets, where libwebrtc
 * (resending on RTX) sees a fifth.
 */
export class LossMeter {
  /** Reports kept, oldest first, with the packets counted lost up to each: the oldest is the window's start. */
  private readonly reports: { at: number; highest: number; lost: number }[] = [];
  private first: number | undefined;

  add(counts: ReportCounts, now: number): void {
    const { highestSequence: highest, fractionLost } = counts;
    const last = this.reports.at(-1);
    // The viewer's counts went back (a new stream): start again.
    if (last && highest < last.highest) this.reports.length = 0;
    const before = this.reports.at(-1);
    if (!before) this.first = fractionLost / 256;
    const lost = before ? before.lost + (fractionLost / 256) * (highest - before.highest) : 0;
    this.reports.push({ at: now, highest, lost });
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
}
