/**
 * The numbers behind a viewer's layer (layer-follower.ts): how often it is
 * chosen, how long a viewer holds after congestion, how a probe is ramped
 * and judged, and what loss and which fall of the estimate count as
 * congestion. Each says why it has its value.
 */
/** How often a viewer's layer is chosen again, ms. */
export const LAYER_CHECK_MS = 1000;
/**
 * A falling estimate has the layer chosen at once rather than at the next
 * interval, but no sooner than this after the last choice, ms: a browser
 * sends a REMB as soon as its estimate drops (libwebrtc: by 3 %), several a
 * second while its link stays congested.
 */
export const EARLY_CHECK_GAP_MS = 250;
/** How long a viewer stays below a layer it was congested on before trying it again, ms; doubled when the try congests at once. */
export const CLIMB_HOLD_MS = 10_000;
export const MAX_CLIMB_HOLD_MS = 80_000;
/**
 * With probes (DownTrack.canProbe) a climb that does not fit costs the
 * viewer a short queue, not a frozen picture, so the hold after a move
 * down is this, ms, and after a probe that congested it doubles up to
 * PROBE_HOLD_MAX_MS: a link freed at any time is found within about
 * PROBE_HOLD_MAX_MS plus a probe (README, bench:bottleneck: 6 s against 10 s).
 */
export const PROBE_HOLD_MS = 5000;
export const PROBE_HOLD_MAX_MS = 6000;
/**
 * A probe's padding ramps from nothing to what the climb adds over
 * PROBE_RAMP_MS, then stays there PROBE_FULL_MS, ms: ramped, a link
 * without room shows it (the estimate falls, at once checked) before the
 * padding has filled its queue for long. Then the padding stops and the
 * verdict waits for the viewer's next receiver report, at most
 * PROBE_REPORT_MS: its loss covers the probe at full rate. (Without the
 * wait, a probe at 2 Mbit/s over a 640 px layer found room: the queue
 * filled in the last few hundred ms, and the report saying so came after
 * the verdict.)
 */
export const PROBE_RAMP_MS = 1000;
export const PROBE_FULL_MS = 700;
export const PROBE_REPORT_MS = 1500;
/**
 * A probe pads this much above what the climb adds. A receiver's estimate
 * is cut only once the queue at the bottleneck grows: probing at just what
 * the climb adds, a link that lacks a few percent showed nothing within a
 * probe (bench:network at 2 Mbit/s: probes found room for the 2.5 Mb/s
 * layer over a 640 px one, and the climbs congested), so the probe asks
 * for more; a link it finds too thin by the margin keeps the viewer a
 * layer lower than it could carry, which is the safe side.
 */
export const PROBE_MARGIN = 1.5;
/**
 * A probe has found no room when a round trip measured from a sender report
 * sent after it started is this much longer than the longest in the
 * ROUND_TRIP_WINDOW_MS before it, ms: its padding is queueing at the
 * bottleneck. A deep queue takes the padding without loss, and a receiver's
 * estimate that sits below the link's rate is not cut, so neither shows it
 * (bench:network at 2 Mbit/s with 300 ms of queue: the round trip went from
 * 3 to 276 ms while the reports said no loss and the estimate held; the
 * climb then congested). Measured against the longest, not the shortest, so
 * that a link's own jitter does not read as a queue.
 */
export const PROBE_QUEUE_MS = 50;
/** How far back the round trips a probe is measured against go, ms. */
export const ROUND_TRIP_WINDOW_MS = 10_000;
/**
 * A queue that a congestion filled (a climb that did not fit, a probe
 * without room) is taken to have drained this long after the move down or
 * the probe's end, ms: round trips measured before then are not what the
 * link's jitter gives, and a probe is not measured against them (one was
 * measured against the 726 ms of the probe before it).
 */
export const QUEUE_DRAIN_MS = 1000;
/** What a probe found holds this long for the climb, ms (the next choice, normally). */
export const PROBED_VALID_MS = 1500;
/**
 * A probe has found no room when the estimate goes below this share of
 * the highest it was since the probe started. A receiver's estimate does
 * not fall while its link carries what arrives (it holds, or rises with
 * the padding); on overuse it is cut to about 85 % of what arrives, which
 * can still be above where it was before the probe, and less than a tenth
 * below its peak (FALLING).
 */
export const PROBE_FELL = 0.95;
/**
 * After a probe that congested, the loss the viewer reports is not acted
 * on for this long, ms: a report covering the probe counts the padding
 * the link dropped, not a link that drops video. After a move down for
 * congestion, for LOSS_WINDOW_MS + QUEUE_DRAIN_MS: the old layer flows
 * until the new one's keyframe, its queue drains, and the loss measured
 * over the last second still counts what it dropped (acted on after one
 * second, it moved a viewer two layers down, to the smallest, for one
 * climb that did not fit, and for a join on a 2 Mbit/s link).
 */
export const LOSS_AFTER_PROBE_MS = 1500;
/**
 * A congestion this soon after a climb means the climb did not fit, ms,
 * whether it was probed, carried by the viewer's estimate or tried blind:
 * a probe misses a link that lacks only a little behind a deep queue
 * (bench:network at 2 Mbit/s with 300 ms of queue: the REMB sat below the
 * link's rate, so overuse did not cut it, and the queue took the padding
 * without loss; the climb then congested). And on a link that reorders, a
 * climb its estimate carried meets "loss" within seconds (a browser asks
 * again for packets that are only late, and the relay's resends count like
 * loss: loss-meter.ts): without the doubling, a viewer behind 5 % loss and
 * 40 ± 30 ms went up and down every 5–10 s.
 */
export const CLIMB_FAILED_WITHIN_MS = 15_000;
/** How far back the estimate's recent peak is taken from, ms. */
export const PEAK_WINDOW_MS = 4000;
/** An estimate this far below its recent peak is falling: the link is congested. */
export const FALLING = 0.9;
/**
 * For this long after a viewer's first estimate, one below JOIN_FAR_BELOW
 * of what it is sent counts as it is, falling or not, ms. A viewer that
 * joins behind a thin link is sent the layer its size asks for before any
 * estimate exists; its first estimates already say what the link carries
 * (a receiver's estimate starts from what arrives), but rise from there,
 * so waiting for a fall left it frozen on the top layer for seconds (a
 * fresh viewer behind 400 kbit/s in bench:network: 0–42 % of its first
 * 15 s frozen, median 24 %, against 10–35 %, median 15 %, with this rule;
 * on a clean link the first estimate was 97 % of what was sent).
 */
export const JOIN_MS = 5000;
export const JOIN_FAR_BELOW = 0.5;

/**
 * Loss the viewer reports (its RTCP receiver reports) above which its link
 * counts as congested whatever its estimate says, and the rate it is given
 * is cut by half the loss (libwebrtc's loss-based rule). A browser's REMB
 * can sit still on a link that drops most of what is sent (seen at 100
 * kbit/s: steady, while 60 % of packets were lost), and a still estimate
 * reads as room to climb.
 */
export const LOSS_CONGESTED = 0.1;
/**
 * Loss the viewer reports (packets lost, not the ones resent because they
 * came late) above which the link is taken to carry no more than what got
 * through of what it was sent (what flows × (1 − loss)), not half the
 * loss less (LOSS_CONGESTED). A link that drops most of what it is sent is
 * full, not losing packets at random, and what arrives is what it carries:
 * a viewer joining behind 400 kbit/s on the 1280 px layer (2.3 Mbit/s)
 * reported 84–98 % lost, and halving that loss took it to the 640 px layer,
 * which did not fit either, and to the 320 px one 0.7–2.2 s later, its
 * first frame only after that (bench:network rate400, README).
 */
export const LOSS_HEAVY = 0.5;
/** Loss above which the viewer does not climb (libwebrtc lets the rate grow only below 2 %). */
export const LOSS_CALM = 0.02;
/** After a climb the next one waits this long, so that a climb which does not fit shows in the estimate or the loss first, ms. */
export const CLIMB_SETTLE_MS = 2000;
