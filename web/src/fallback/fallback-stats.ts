/** The fallback stream's stats overlay sample. Pure: counters and clock passed in. */
import type { FallbackCodec } from "../../../server/protocol/fallback.js";
import type { FallbackPace, StatsSample } from "../stats-summary.js";

/** Running totals a FallbackWatch keeps. */
export interface FallbackCounters {
  /** Bytes of binary messages received. */
  bytes: number;
  /** Frames with at least one stripe painted. */
  frames: number;
  width: number | null;
  height: number | null;
  /** The server's latest `pace` for this viewer. */
  pace?: FallbackPace;
}

/** One second's sample: fps and kb/s are deltas against `prev`; no RTT over the socket. */
export function fallbackSample(codec: FallbackCodec, c: FallbackCounters, prev: StatsSample | undefined, now: number): StatsSample {
  const dt = prev ? now - prev.at : 0;
  const rate = (v: number, p: number | null | undefined, scale: number) => (p == null || dt <= 0 || v < p ? null : ((v - p) * scale) / dt);
  return {
    at: now,
    transport: codec === "jpeg" ? "ws_jpeg" : "ws_h264",
    route: null,
    videoKbps: rate(c.bytes, prev?.videoBytes, 8),
    audioKbps: null,
    fps: rate(c.frames, prev?.framesDecoded, 1000),
    rttMs: null,
    delayMs: null,
    packetsLost: null,
    nackCount: null,
    framesDecoded: c.frames,
    width: c.width,
    height: c.height,
    videoCodec: codec === "jpeg" ? "image/jpeg" : "video/H264",
    audioCodec: null,
    videoBytes: c.bytes,
    audioBytes: null,
    jitterDelay: null,
    jitterEmitted: null,
    transportBytes: null,
    ...(c.pace ? { pace: c.pace } : {}),
  };
}
