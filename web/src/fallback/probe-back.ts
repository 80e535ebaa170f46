/**
 * Coming back from the WebSocket fallback to WebRTC. Pure, unit-tested in
 * e2e/transport-switch.test.ts.
 *
 * While an automatic fallback is in use, the page tries WebRTC again in the
 * background (a probe: a peer connection whose picture is not shown) and
 * switches back once the probe shows a live picture. Hysteresis keeps it from
 * flapping: the wait before a probe doubles after each failed probe, and
 * after each return to WebRTC that did not hold for STABLE_MS; it starts
 * over once WebRTC held that long.
 */
import type { StatsSample } from "../stats-summary.js";

/** The first wait before a probe, ms. */
export const FIRST_PROBE_MS = 10_000;
/** The longest wait between probes, ms. */
export const MAX_PROBE_MS = 160_000;
/** WebRTC that held this long after a return counts as stable: the waits start over, ms. */
export const STABLE_MS = 60_000;
/** How long a probe gets to show a live picture, ms. */
export const PROBE_DEADLINE_MS = 8000;
/** Frames a probe must decode to pass. */
export const PROBE_FRAMES = 10;
/** A device that sends few frames passes with one frame after this long connected, ms. */
export const PROBE_QUIET_MS = 3000;

/** When the next probe should start. */
export class ProbeBackoff {
  private wait = FIRST_PROBE_MS;
  /** When the page last went back to WebRTC (undefined: never). */
  private backAt: number | undefined;

  /** The page moved to the fallback at `now`: the wait before the first probe, ms. */
  fellBack(now: number): number {
    if (this.backAt !== undefined && now - this.backAt < STABLE_MS) this.double();
    else this.wait = FIRST_PROBE_MS;
    this.backAt = undefined;
    return this.wait;
  }

  /** A probe failed: the wait before the next one, ms. */
  probeFailed(): number {
    this.double();
    return this.wait;
  }

  /** A probe passed and the page went back to WebRTC at `now`. */
  wentBack(now: number): void {
    this.backAt = now;
  }

  private double(): void {
    this.wait = Math.min(MAX_PROBE_MS, this.wait * 2);
  }
}

/** What a probe's samples say so far. */
export type ProbeVerdict = "pass" | "wait";

/**
 * Judges one probe from its connection state and stats samples: it passes
 * when connected with PROBE_FRAMES decoded, or with one frame after
 * PROBE_QUIET_MS connected (a device with a still picture sends little).
 * The deadline is the caller's timer.
 */
export class ProbeJudge {
  private connectedAt: number | undefined;

  /** The probe's connection state at `now`. */
  connectionState(state: string, now: number): void {
    if (state === "connected") this.connectedAt ??= now;
    else this.connectedAt = undefined;
  }

  sample(s: Pick<StatsSample, "at" | "framesDecoded">): ProbeVerdict {
    if (this.connectedAt === undefined) return "wait";
    const frames = s.framesDecoded ?? 0;
    if (frames >= PROBE_FRAMES) return "pass";
    return frames >= 1 && s.at - this.connectedAt >= PROBE_QUIET_MS ? "pass" : "wait";
  }
}
