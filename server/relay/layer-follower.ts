import type { Logger } from "../log.js";
import type { LayerState } from "../protocol/messages.js";
import { ALL_TEMPORAL, type DownTrack } from "./down-track.js";
import { chooseLayer, layerOrder, STAY_HEADROOM, type LayerInfo, type ViewerWants } from "./layer-select.js";
import type { RelayObserver } from "./observer.js";
import { EstimatePeak } from "./estimate-peak.js";
import { LOSS_WINDOW_MS } from "./loss-meter.js";
import {
  CLIMB_FAILED_WITHIN_MS,
  CLIMB_HOLD_MS,
  CLIMB_SETTLE_MS,
  EARLY_CHECK_GAP_MS,
  JOIN_FAR_BELOW,
  JOIN_MS,
  LAYER_CHECK_MS,
  LOSS_AFTER_PROBE_MS,
  LOSS_CALM,
  LOSS_CONGESTED,
  LOSS_HEAVY,
  MAX_CLIMB_HOLD_MS,
  PROBED_VALID_MS,
  PROBE_FELL,
  PROBE_FULL_MS,
  PROBE_HOLD_MAX_MS,
  PROBE_HOLD_MS,
  PROBE_MARGIN,
  PROBE_QUEUE_MS,
  PROBE_RAMP_MS,
  PROBE_REPORT_MS,
  QUEUE_DRAIN_MS,
  ROUND_TRIP_WINDOW_MS,
} from "./layer-tuning.js";
import type { UpTrack } from "./up-track.js";

/** What a viewer is told of its layer: the `layer` message without its envelope. */
export type LayerReport = Omit<LayerState, "type" | "deviceId">;

/** An estimate is told again when it moved by this share of the last one told. */
const ESTIMATE_STEP = 0.1;

/** What a LayerFollower is given besides its track and viewer. */
export interface FollowerOptions {
  /** How often the layer is chosen again, ms (LAYER_CHECK_MS). */
  intervalMs?: number;
  /** Hears each move and probe, with what decided it, at debug level: why a viewer got the layer it got. */
  log?: Logger;
  /** The viewer, as its trace lines name it. */
  viewer?: string;
}

/** A layer's width: its frames', or, while one encoded on demand is off, its target's. */
const widthOf = (t: UpTrack): number | undefined => t.frameSize?.width ?? t.onDemand?.width;

/** A layer as the chooser sees it; one encoded on demand counts at its target while it is off. */
const info = (t: UpTrack, now: number): LayerInfo => ({
  width: widthOf(t),
  bitrate: t.bitrate(now) || (t.onDemand?.bitrate ?? 0),
});

/**
 * Keeps one viewer's video DownTrack on the simulcast layer chooseLayer picks
 * for it, from what the viewer wants (its rendered width, its bandwidth
 * estimate) and what each layer carries now. A switch happens at the new
 * layer's keyframe (DownTrack.switchLayer). The estimate counts only
 * while it falls (below FALLING of its peak over PEAK_WINDOW_MS): a browser's
 * REMB follows what it receives, rising slowly after a climb, and is cut
 * when its link overuses; a low but rising estimate is no congestion. The
 * exception is a viewer's first seconds (JOIN_MS): its estimate starts from
 * what arrives, so one far below what it is sent is a thin link. Loss
 * the viewer reports counts too (LOSS_CONGESTED, LOSS_CALM): a link that
 * drops much of what it carries is congested whatever the estimate says,
 * and one that drops some is no place to climb. After a move down for
 * congestion it holds before climbing again (CLIMB_HOLD_MS, doubling while
 * climbs keep congesting), and each climb waits CLIMB_SETTLE_MS after the
 * last. After a move down for congestion (until a probe finds room), a
 * climb the estimate does not already carry is probed first where the
 * track can pad (VP8, VP9): padding for what the climb adds, ramped
 * (PROBE_RAMP_MS, PROBE_FULL_MS), for the layer the viewer's size asks for
 * (one layer up after a probe that found no room); the climb goes there
 * when, meanwhile, the estimate did not fall (PROBE_FELL), the round trip
 * did not grow (PROBE_QUEUE_MS) and the loss stayed calm, else the viewer
 * stays and probes again after a hold (PROBE_HOLD_MS up to
 * PROBE_HOLD_MAX_MS, shorter than a climb's: a probe
 * that finds no room freezes nothing). Without padding, trying is how it
 * learns the link has room again. Feedback is acted on when it arrives
 * (`feedback`: during a probe always, otherwise a falling estimate), the
 * rest once a second. A layer its source encodes only on
 * demand (UpTrack.onDemand) counts as available at its target bitrate: the
 * switch attaches it, which starts it. Does nothing for a source without
 * layers.
 */
export class LayerFollower {
  private readonly timer: NodeJS.Timeout;
  private holdUntil = -Infinity;
  /** The last hold after a congestion, ms (0 before any). */
  private holdMs = 0;
  private climbedAt = -Infinity;
  /** When the viewer's first estimate came. */
  private firstEstimateAt: number | undefined;
  /** Recent estimates (the samples `falling` took). */
  private readonly estimates = new EstimatePeak();
  private told: LayerReport | undefined;
  private checkedAt = -Infinity;
  /**
   * The probe under way: the layer it would climb to, when its padding
   * stops, whether a receiver report came after that, and the viewer's
   * highest estimate since it started.
   */
  private probing:
    { layer: UpTrack; startedAt: number; padUntil: number; reported: boolean; peak: number | undefined; rttCeiling: number | undefined } | undefined;
  /** Round trips the viewer measured lately (ROUND_TRIP_WINDOW_MS), when the sender report each answers went out, oldest first. */
  private readonly roundTrips: { sentAt: number; ms: number }[] = [];
  /** Loss reports are not acted on until then (LOSS_AFTER_PROBE_MS, LOSS_WINDOW_MS). */
  private lossIgnoredUntil = -Infinity;
  /** Round trips whose sender report went out before this may have queued behind a congestion (QUEUE_DRAIN_MS). */
  private drainedAt = -Infinity;
  /** When a probe last found no room. */
  private probeCongestedAt = -Infinity;
  /** The layer the last probe found room for, and when, until the climb to it. */
  private probed: { layer: UpTrack; at: number } | undefined;
  /** The last probe found no room: the next probes for one layer up, not for the layer the viewer's size asks for. */
  private probeStep = false;
  /**
   * Climbs are probed only after a move down for congestion, until a probe
   * finds room: a climb for another reason (a layer back after its encoder
   * restarted, a larger player) goes ahead at once, as before probes. (Probing
   * those too held a host display's viewer on a smaller layer past a resize.)
   */
  private probeClimbs = false;

  private readonly log: Logger | undefined;
  private readonly viewer: string | undefined;

  /** @param report hears the layer the viewer gets and its estimate, when either changes */
  constructor(
    readonly down: DownTrack,
    private readonly wants: () => ViewerWants,
    private readonly observer: RelayObserver,
    private readonly report: (r: LayerReport) => void = () => {},
    { intervalMs = LAYER_CHECK_MS, log, viewer }: FollowerOptions = {},
  ) {
    this.log = log;
    this.viewer = viewer;
    this.timer = setInterval(() => this.check(), intervalMs);
    this.timer.unref();
  }

  /**
   * Feedback came from the viewer (`estimate`: a REMB; `report`: a receiver
   * report and its loss, with the round trip it measured, ms, if any):
   * during a probe, chooses now; otherwise when the estimate is falling
   * or a report has loss above LOSS_CONGESTED while loss counts
   * (EARLY_CHECK_GAP_MS after the last choice), else waits for the
   * interval. (Behind 5 % loss and 40 ± 30 ms, a viewer waited up to a
   * second for each step down, on layers its link could not carry: 200–400
   * ms frozen per second there.)
   */
  feedback(kind: "estimate" | "report", now = performance.now(), rttMs?: number): void {
    if (rttMs !== undefined) {
      this.roundTrips.push({ sentAt: now - rttMs, ms: rttMs });
      while (this.roundTrips.length > 0 && this.roundTrips[0].sentAt < now - ROUND_TRIP_WINDOW_MS) this.roundTrips.shift();
    }
    if (this.probing) {
      if (kind === "report" && now >= this.probing.padUntil) this.probing.reported = true;
      this.check(now);
      return;
    }
    if (now - this.checkedAt < EARLY_CHECK_GAP_MS) return;
    const { bandwidth: bw, loss } = this.wants();
    if (kind === "report" && now >= this.lossIgnoredUntil && (loss ?? 0) > LOSS_CONGESTED) {
      this.check(now);
      return;
    }
    if (bw === undefined) return;
    if (this.estimates.falling(bw, now)) this.check(now);
  }

  /** Chooses now (also done every interval). */
  check(now = performance.now()): void {
    this.checkedAt = now;
    const current = this.down.pendingTrack ?? this.down.upTrack;
    const layers = current?.layers;
    if (!current || !layers || layers.length < 2) return;
    const ordered = layerOrder(layers.map((t) => info(t, now))).map((i) => layers[i]);
    const at = ordered.indexOf(current);
    const asked = this.wants();
    this.tell(ordered, asked.bandwidth, now);
    const falling = this.falling(asked, current, now);
    const loss = asked.loss ?? 0;
    if (this.probing) {
      const { peak, startedAt, rttCeiling } = this.probing;
      const bw = asked.bandwidth;
      const fell = peak !== undefined && bw !== undefined && bw < peak * PROBE_FELL;
      if (bw !== undefined && (peak === undefined || bw > peak)) this.probing.peak = bw;
      const queued = rttCeiling !== undefined && this.roundTrips.some((r) => r.sentAt >= startedAt && r.ms > rttCeiling + PROBE_QUEUE_MS);
      if (fell || queued || falling.bandwidth !== undefined || loss > LOSS_CALM) {
        // The link had no room for the climb: stay (or move down, below), and probe again after a hold.
        const why = fell ? "estimate fell" : queued ? "round trip grew" : falling.bandwidth !== undefined ? "estimate falling" : "loss";
        this.trace("probe found no room", { why, peak, ...this.readings(asked) });
        this.endProbe("congested");
        this.congested(now, true);
        // The probe was the try of a climb that came with it (a temporal layer regained in the check that started it),
        // and its hold stands for that: a congestion after it, as the estimate goes on falling while the padding's queue
        // drains, is not a failed climb whose hold doubles (bench:bottleneck: the next probe 13.5–16.6 s after, not 6).
        if (this.climbedAt >= startedAt) this.climbedAt = -Infinity;
        this.lossIgnoredUntil = now + LOSS_AFTER_PROBE_MS;
      } else if (now < this.probing.padUntil) {
        return;
      } else if (!this.probing.reported && now < this.probing.padUntil + PROBE_REPORT_MS) {
        // The padding stops; the verdict waits for the loss the next report gives.
        this.down.stopProbe(now);
        return;
      } else {
        this.trace("probe found room", { for: widthOf(this.probing.layer), ...this.readings(asked) });
        this.probed = { layer: this.probing.layer, at: now };
        this.endProbe("room");
      }
      this.tell(ordered, asked.bandwidth, now);
    }
    // Loss a probe caused is not the link dropping video (LOSS_AFTER_PROBE_MS).
    const wants = now < this.lossIgnoredUntil ? falling : this.lossy(falling, current, now);
    const mayClimb = now >= this.holdUntil && now - this.climbedAt >= CLIMB_SETTLE_MS && loss <= LOSS_CALM;
    if (this.temporalStep(ordered, at, wants.bandwidth, mayClimb, now)) return;
    const infos = ordered.map((t) => info(t, now));
    const target = chooseLayer(infos, { ...wants, mayClimb }, at);
    if (target < 0 || target === at) return;
    const congested = wants.bandwidth !== undefined && at >= 0 && current.bitrate(now) > wants.bandwidth * STAY_HEADROOM;
    if (target < at && congested) this.congested(now);
    let to = target;
    if (target > at) {
      to = this.climbTo(ordered, infos, at, target, wants, asked.bandwidth, now);
      if (to < 0) return;
      this.climbedAt = now;
    }
    if (this.log) {
      const up = this.probed?.layer === ordered[to] ? "probed" : (asked.bandwidth ?? 0) >= infos[to].bitrate ? "estimate" : "calm";
      // Down for neither estimate nor loss: the viewer's size asks for less, or the layer went away.
      const why = to > at ? up : wants.bandwidth !== falling.bandwidth ? "loss" : falling.bandwidth !== undefined ? "estimate" : "size";
      this.trace(to > at ? "layer up" : "layer down", {
        from: widthOf(current),
        to: widthOf(ordered[to]),
        why,
        sending: Math.round((this.down.upTrack ?? current).bitrate(now)),
        ...this.readings(asked),
      });
    }
    this.probed = undefined;
    this.observer.layerSwitch(to > at ? "up" : "down");
    this.down.switchLayer(ordered[to]);
  }

  /** What the viewer's feedback says now, for a trace line. */
  private readings(asked: ViewerWants): Record<string, number | undefined> {
    const pct = (v: number | undefined) => (v === undefined ? undefined : Math.round(v * 1000) / 10);
    return { estimate: asked.bandwidth, lossPct: pct(asked.loss), droppedPct: pct(asked.dropped), rttMs: this.roundTrips.at(-1)?.ms };
  }

  private trace(msg: string, fields: Record<string, unknown>): void {
    this.log?.debug(msg, { viewer: this.viewer, track: this.down.upTrack?.id, ...fields });
  }

  /**
   * Temporal layers, for a layer that has them: when even the lowest
   * spatial layer does not fit a falling estimate, the viewer gets fewer
   * frames (the most temporal layers that fit, else the base); once calm,
   * it climbs back one temporal layer at a time after the hold, before any
   * spatial layer. True while the temporal layers decide (no spatial move).
   */
  private temporalStep(ordered: readonly UpTrack[], at: number, bandwidth: number | undefined, mayClimb: boolean, now: number): boolean {
    const layer = ordered[at];
    if (!layer || layer !== this.down.upTrack || layer.temporalLayers < 2) return false;
    const top = layer.temporalLayers - 1;
    const tid = Math.min(this.down.temporal, top);
    const lowest = ordered.findIndex((t) => info(t, now).bitrate > 0) === at;
    let next = tid;
    if (bandwidth !== undefined && lowest && layer.temporalBitrate(tid, now) > bandwidth * STAY_HEADROOM) {
      next = 0;
      for (let t = tid - 1; t > 0; t--) {
        if (layer.temporalBitrate(t, now) <= bandwidth * STAY_HEADROOM) {
          next = t;
          break;
        }
      }
    } else if (bandwidth === undefined && tid < top && mayClimb) {
      next = tid + 1;
    }
    if (next !== tid) {
      this.trace(next < tid ? "temporal down" : "temporal up", { layer: widthOf(layer), from: tid, to: next, estimate: bandwidth });
      if (next < tid) this.congested(now);
      else {
        this.climbedAt = now;
      }
      this.down.setTemporal(next >= top ? ALL_TEMPORAL : next);
    }
    return Math.min(this.down.temporal, top) < top;
  }

  /**
   * Where a climb from `at` goes (chooseLayer said `target`, one layer up),
   * or -1 when a probe of the viewer's link starts first (the climb waits
   * for its outcome). A track that can pad probes for what the climb adds:
   * straight to the layer the viewer's size asks for, or one layer up when
   * the last probe found no room. No probe is needed when the viewer's
   * estimate already carries the layer, or when a probe just found room
   * (the climb goes to the layer probed).
   */
  private climbTo(
    ordered: readonly UpTrack[],
    infos: readonly LayerInfo[],
    at: number,
    target: number,
    wants: ViewerWants,
    estimate: number | undefined,
    now: number,
  ): number {
    const probed = this.probed !== undefined && now - this.probed.at <= PROBED_VALID_MS ? ordered.indexOf(this.probed.layer) : -1;
    if (probed >= target) {
      this.probeClimbs = false;
      return probed;
    }
    const probes = this.down.canProbe && this.probeClimbs;
    // chooseLayer with no current layer: the one the viewer's size asks for.
    const to = !probes || this.probeStep ? target : Math.max(target, chooseLayer(infos, wants, -1));
    const need = infos[to].bitrate;
    if (estimate !== undefined && estimate >= need) return to;
    const adds = need - ordered[at].bitrate(now);
    // Untried: the climb itself is the try.
    if (!probes || adds <= 0) return to;
    const since = Math.max(now - ROUND_TRIP_WINDOW_MS, this.drainedAt);
    const rttCeiling = this.roundTrips.reduce<number | undefined>((m, r) => (r.sentAt >= since ? Math.max(m ?? 0, r.ms) : m), undefined);
    this.probing = { layer: ordered[to], startedAt: now, padUntil: now + PROBE_RAMP_MS + PROBE_FULL_MS, reported: false, peak: estimate, rttCeiling };
    this.down.probe(adds * PROBE_MARGIN, PROBE_RAMP_MS, now);
    this.trace("probe", { for: widthOf(ordered[to]), padBps: Math.round(adds * PROBE_MARGIN), estimate });
    this.tell(ordered, estimate, now);
    return -1;
  }

  private endProbe(outcome: "room" | "congested"): void {
    this.probing = undefined;
    this.probeStep = outcome === "congested";
    this.down.stopProbe();
    this.observer.bandwidthProbe(outcome);
  }

  /**
   * A move down for congestion, or a probe that found no room (`probe`):
   * hold before climbing (or probing) again, longer when a climb or probe
   * just failed. A move down within QUEUE_DRAIN_MS of a probe that found
   * no room is its padding draining, not a climb that failed (a temporal
   * layer regained as the probe started): the probe's hold stands.
   */
  private congested(now: number, probe = false): void {
    if (probe) this.probeCongestedAt = now;
    else if (now - this.probeCongestedAt <= QUEUE_DRAIN_MS) return;
    const base = this.down.canProbe ? PROBE_HOLD_MS : CLIMB_HOLD_MS;
    const climbFailed = !probe && now - this.climbedAt < CLIMB_FAILED_WITHIN_MS;
    this.probeClimbs = true;
    if (probe) this.holdMs = Math.min(PROBE_HOLD_MAX_MS, Math.max(base, this.holdMs * 2));
    else this.holdMs = climbFailed ? Math.min(MAX_CLIMB_HOLD_MS, Math.max(base, this.holdMs) * 2) : base;
    // A climb that did not fit, probed or not: the next probe asks for one layer up.
    if (climbFailed) this.probeStep = true;
    this.holdUntil = now + this.holdMs;
    this.trace("hold", { ms: this.holdMs, after: probe ? "probe" : climbFailed ? "failed climb" : "congestion" });
    this.drainedAt = now + QUEUE_DRAIN_MS;
    this.lossIgnoredUntil = Math.max(this.lossIgnoredUntil, now + LOSS_WINDOW_MS + QUEUE_DRAIN_MS);
  }

  close(): void {
    clearInterval(this.timer);
    this.probing = undefined;
    this.down.stopProbe();
  }

  /** Reports the layer flowing to the viewer and its estimate, when either changed. */
  private tell(ordered: readonly UpTrack[], estimate: number | undefined, now: number): void {
    const flowing = this.down.upTrack;
    const layer = flowing ? ordered.indexOf(flowing) : -1;
    if (!flowing || layer < 0) return;
    const last = this.told;
    const moved = (a: number | undefined, b: number | undefined) => (a === undefined || b === undefined ? a !== b : Math.abs(a - b) >= ESTIMATE_STEP * b);
    const size = flowing.frameSize ?? flowing.onDemand;
    const tl = flowing.temporalLayers;
    const temporal = tl > 1 ? Math.min(this.down.temporal, tl - 1) : undefined;
    const lowest = ordered.findIndex((t) => info(t, now).bitrate > 0) === layer;
    const probing = this.probing !== undefined;
    // Held to the lowest layer's base temporal layer (only congestion puts it there), or, without temporal layers, below its rate.
    const tooSlow = lowest && (temporal !== undefined ? temporal === 0 : estimate !== undefined && estimate < flowing.bitrate(now) * STAY_HEADROOM);
    if (
      last &&
      last.layer === layer &&
      last.layers === ordered.length &&
      last.width === size?.width &&
      last.temporal === temporal &&
      (last.linkTooSlow ?? false) === tooSlow &&
      (last.probing ?? false) === probing &&
      !moved(estimate, last.estimate)
    ) {
      return;
    }
    this.told = {
      layer,
      layers: ordered.length,
      ...(size ? { width: size.width, height: size.height } : {}),
      ...(estimate !== undefined ? { estimate: Math.round(estimate) } : {}),
      ...(temporal !== undefined ? { temporal, temporalLayers: tl } : {}),
      ...(tooSlow ? { linkTooSlow: true } : {}),
      ...(probing ? { probing: true } : {}),
    };
    this.report(this.told);
  }

  /**
   * `wants` with the bandwidth a lossy link leaves (LOSS_CONGESTED): what
   * flows now (the temporal layers forwarded, else the layer) less half
   * the loss, or less all of it when the link dropped most of it
   * (LOSS_HEAVY: lost, not only late), when that is below the estimate.
   */
  private lossy(wants: ViewerWants, current: UpTrack, now: number): ViewerWants {
    const loss = wants.loss ?? 0;
    if (loss <= LOSS_CONGESTED) return wants;
    const flowing = this.down.upTrack;
    const top = (flowing?.temporalLayers ?? 1) - 1;
    const rate = flowing && top > 0 && this.down.temporal < top ? flowing.temporalBitrate(this.down.temporal, now) : current.bitrate(now);
    const left = rate * (1 - ((wants.dropped ?? 0) > LOSS_HEAVY ? 1 : 0.5) * Math.min(1, loss));
    return left > 0 && left < (wants.bandwidth ?? Infinity) ? { ...wants, bandwidth: left } : wants;
  }

  /**
   * `wants` with its bandwidth only while the estimate is falling from its
   * recent peak, or, soon after the viewer's first estimate, while it is far
   * below what the viewer is sent (JOIN_MS).
   */
  private falling(wants: ViewerWants, current: UpTrack, now: number): ViewerWants {
    const bw = wants.bandwidth;
    if (bw === undefined) return wants;
    this.firstEstimateAt ??= now;
    if (now - this.firstEstimateAt <= JOIN_MS && bw < JOIN_FAR_BELOW * current.bitrate(now)) {
      this.estimates.add(bw, now);
      return wants;
    }
    const fell = this.estimates.falling(bw, now);
    this.estimates.add(bw, now);
    return fell ? wants : { ...wants, bandwidth: undefined };
  }
}
