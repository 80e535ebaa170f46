/**
 * Adapts one fallback viewer's stream to its link, as a congestion
 * controller does: its frame rate and quality tier follow its ack round
 * trip (sent → drawn, FlowControl.rttMs) against the lowest round trip seen
 * lately. A round trip well above that lowest one means frames queue on the
 * way (a slow link, a busy viewer): the frame rate falls to below what the
 * viewer draws, and at the floor the quality tier steps down (smaller frames
 * for the same picture). A calm link earns the frame rate back step by step,
 * then, after a hold, the quality. A quality climb that congests at once
 * doubles its hold, up to 80 s, so a link that cannot carry it is not
 * retried every few seconds. The first 2 s after the first ack are a
 * start-up, while the page may still be loading: only flow control's pauses
 * count, each a step down from the current rate. Pure: the caller passes the
 * clock; unit-tested in pacer.test.ts.
 */

/** What the pacer knows of the viewer at one moment. */
export interface PaceSample {
  /** Smoothed ack round trip, ms; undefined before the first ack. */
  rttMs: number | undefined;
  /** Frames per second the viewer draws while it has frames, when measured. */
  deliveredFps: number | undefined;
  /** Flow control paused sending since the last sample. */
  paused: boolean;
}

/** What the viewer is sent at: frames per second and quality tier (0 is the source's own quality). */
export interface Pace {
  fps: number;
  tier: number;
}

/** Quality tiers: 0 the configured quality, then lower ones. */
export const QUALITY_TIERS = 3;
/** The lowest frame rate the pacer sends at. */
export const MIN_FPS = 2;
/** At or below this frame rate, congestion lowers the quality tier instead. */
export const FLOOR_FPS = 5;
/** Decisions are at least this far apart, ms. */
const DECIDE_MS = 500;
/** The lowest round trip is taken over this window, ms. */
const BASE_WINDOW_MS = 10_000;
/** Queueing (round trip above the lowest) counts as congestion past the larger of this and the lowest round trip, ms. */
const QUEUE_MS = 200;
/** Calm this long before the frame rate climbs a step, ms. */
const CALM_STEP_MS = 2000;
/** After a tier change, hold this long before climbing a tier; doubles while climbs congest. */
const TIER_HOLD_MS = 10_000;
const MAX_TIER_HOLD_MS = 80_000;
/**
 * For this long after the first ack, ms, the pacer does not trust what it
 * measures: a page that just opened the stream is often still loading, and
 * draws and acks slowly while it does (traced: joining pages paused for
 * backlog 1–1.4 s in and were cut to the 3 frames/s they had drawn, then took
 * 14–16 s to climb back). Round trips are not acted on then, and a pause
 * from flow control lowers the frame rate from where it is, not to below
 * the drawn rate.
 */
const START_GRACE_MS = 2000;
/** A congestion this soon after a tier climb means the climb did not fit, ms. */
const CLIMB_FAILED_WITHIN_MS = 5000;

export class Pacer {
  private fps: number;
  private tier = 0;
  private readonly rtts: { at: number; ms: number }[] = [];
  private decidedAt = -Infinity;
  private calmSince: number;
  private tierChangedAt = -Infinity;
  private climbedAt = -Infinity;
  private tierHoldMs = TIER_HOLD_MS;
  /** When the first round trip came. */
  private firstRttAt: number | undefined;

  constructor(
    private maxFps: number,
    now: number,
  ) {
    this.fps = maxFps;
    this.calmSince = now;
  }

  get pace(): Pace {
    return { fps: this.fps, tier: this.tier };
  }

  /** The viewer's own frame-rate cap changed: the pacer never goes above it. */
  setMaxFps(fps: number): void {
    this.maxFps = fps;
    this.fps = Math.min(this.fps, fps);
  }

  /** Takes a sample; returns the new pace when it changed. */
  update(s: PaceSample, now: number): Pace | undefined {
    if (s.rttMs === undefined) return undefined;
    while (this.rtts.length > 0 && now - this.rtts[0].at > BASE_WINDOW_MS) this.rtts.shift();
    this.rtts.push({ at: now, ms: s.rttMs });
    this.firstRttAt ??= now;
    const starting = now - this.firstRttAt < START_GRACE_MS;
    if (!s.paused && (now - this.decidedAt < DECIDE_MS || starting)) return undefined;
    this.decidedAt = now;
    const base = Math.min(...this.rtts.map((r) => r.ms));
    const congested = s.paused || s.rttMs - base > Math.max(QUEUE_MS, base);
    const before = `${this.fps}/${this.tier}`;
    if (congested) this.slowDown(starting ? undefined : s.deliveredFps, now);
    else this.speedUp(now);
    return `${this.fps}/${this.tier}` === before ? undefined : this.pace;
  }

  /** `drawnFps`: what the viewer draws, when known and trusted. */
  private slowDown(drawnFps: number | undefined, now: number): void {
    this.calmSince = now;
    if (this.fps > FLOOR_FPS || this.tier === QUALITY_TIERS - 1) {
      const drawn = drawnFps ?? this.fps;
      this.fps = Math.max(MIN_FPS, Math.min(this.maxFps, Math.floor(Math.min(this.fps, drawn) * 0.7)));
      return;
    }
    // Already slow: smaller frames instead, once the last tier change had time to show.
    if (now - this.tierChangedAt < CALM_STEP_MS) return;
    this.tierHoldMs = now - this.climbedAt < CLIMB_FAILED_WITHIN_MS ? Math.min(MAX_TIER_HOLD_MS, this.tierHoldMs * 2) : TIER_HOLD_MS;
    this.tier++;
    this.tierChangedAt = now;
  }

  private speedUp(now: number): void {
    if (now - this.calmSince < CALM_STEP_MS) return;
    this.calmSince = now;
    if (this.fps < this.maxFps) {
      this.fps = Math.min(this.maxFps, Math.ceil(this.fps * 1.25 + 1));
      return;
    }
    if (this.tier > 0 && now - this.tierChangedAt >= this.tierHoldMs) {
      this.tier--;
      this.tierChangedAt = this.climbedAt = now;
    }
  }
}
