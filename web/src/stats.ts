import { codecLabel } from "./format.js";

/** One second's view of a viewer peer connection, derived from getStats(). */
export interface StatsSample {
  /** performance.now() of the sample, ms. */
  at: number;
  /** Inbound video bitrate over the last interval, kb/s. */
  videoKbps: number | null;
  audioKbps: number | null;
  /** Decoded frames per second (framesPerSecond, or the framesDecoded delta). */
  fps: number | null;
  /** Round-trip time of the selected candidate pair, ms. */
  rttMs: number | null;
  packetsLost: number | null;
  framesDecoded: number | null;
  width: number | null;
  height: number | null;
  /** e.g. "video/VP8". */
  videoCodec: string | null;
  audioCodec: string | null;
  /** Raw counters the next sample needs for deltas. */
  videoBytes: number | null;
  audioBytes: number | null;
}

type Report = Record<string, unknown> & { id: string; type: string };

const num = (v: unknown): number | null => (typeof v === "number" && Number.isFinite(v) ? v : null);
const str = (v: unknown): string | null => (typeof v === "string" ? v : null);

function kbps(bytes: number | null, prevBytes: number | null | undefined, dtMs: number): number | null {
  if (bytes === null || prevBytes == null || dtMs <= 0 || bytes < prevBytes) return null;
  return ((bytes - prevBytes) * 8) / dtMs;
}

/** The candidate pair in use: the transport's selected pair, else a nominated succeeded one. */
function selectedPair(reports: Map<string, Report>): Report | undefined {
  for (const r of reports.values()) {
    if (r.type !== "transport") continue;
    const id = str(r.selectedCandidatePairId);
    if (id && reports.has(id)) return reports.get(id);
  }
  for (const r of reports.values()) {
    if (r.type === "candidate-pair" && r.nominated === true && r.state === "succeeded") return r;
  }
  return undefined;
}

/**
 * Turns one getStats() report into a sample. Pure: `prev` supplies the
 * previous counters and `now` the clock, so rates are deltas over the interval.
 */
export function summarize(stats: Iterable<Report>, prev: StatsSample | undefined, now: number): StatsSample {
  const reports = new Map<string, Report>();
  for (const r of stats) reports.set(r.id, r);
  let video: Report | undefined;
  let audio: Report | undefined;
  for (const r of reports.values()) {
    if (r.type !== "inbound-rtp") continue;
    if (r.kind === "video" && !video) video = r;
    if (r.kind === "audio" && !audio) audio = r;
  }
  const codecOf = (r: Report | undefined) => {
    const codec = r && reports.get(String(r.codecId));
    return codec ? str(codec.mimeType) : null;
  };
  const dt = prev ? now - prev.at : 0;
  const videoBytes = num(video?.bytesReceived);
  const audioBytes = num(audio?.bytesReceived);
  const framesDecoded = num(video?.framesDecoded);
  let fps = num(video?.framesPerSecond);
  if (fps === null && framesDecoded !== null && prev?.framesDecoded != null && dt > 0) {
    fps = ((framesDecoded - prev.framesDecoded) * 1000) / dt;
  }
  const rtt = num(selectedPair(reports)?.currentRoundTripTime);
  return {
    at: now,
    videoKbps: kbps(videoBytes, prev?.videoBytes, dt),
    audioKbps: kbps(audioBytes, prev?.audioBytes, dt),
    fps,
    rttMs: rtt === null ? null : rtt * 1000,
    packetsLost: num(video?.packetsLost),
    framesDecoded,
    width: num(video?.frameWidth),
    height: num(video?.frameHeight),
    videoCodec: codecOf(video),
    audioCodec: codecOf(audio),
    videoBytes,
    audioBytes,
  };
}

/** The sample as label/value rows for the overlay. */
export function statsRows(s: StatsSample): [string, string][] {
  const f = (v: number | null, digits = 0, unit = "") => (v === null ? "–" : `${v.toFixed(digits)}${unit}`);
  return [
    ["video", `${f(s.videoKbps, 0, " kb/s")}`],
    ["fps", f(s.fps, 0)],
    ["size", s.width && s.height ? `${s.width}×${s.height}` : "–"],
    ["codec", [s.videoCodec, s.audioCodec].flatMap((c) => (c ? [codecLabel(c)] : [])).join(" + ") || "–"],
    ["rtt", f(s.rttMs, 0, " ms")],
    ["lost", f(s.packetsLost, 0)],
  ];
}

/** Samples a peer connection every `intervalMs` and hands each sample to `onSample`. */
export class StatsSampler {
  private timer: number | undefined;
  private prev: StatsSample | undefined;
  private busy = false;

  constructor(
    private readonly pc: RTCPeerConnection,
    private readonly onSample: (s: StatsSample) => void,
    private readonly intervalMs = 1000,
  ) {
    this.timer = window.setInterval(() => void this.sample(), this.intervalMs);
    void this.sample();
  }

  /** Stops sampling; idempotent. */
  close(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  private async sample(): Promise<void> {
    if (this.busy || this.timer === undefined || this.pc.connectionState === "closed") return;
    this.busy = true;
    try {
      const report = await this.pc.getStats();
      if (this.timer === undefined) return;
      const sample = summarize(report.values() as Iterable<Report>, this.prev, performance.now());
      this.prev = sample;
      this.onSample(sample);
    } catch (err) {
      console.debug("tessera: getStats failed", err);
    } finally {
      this.busy = false;
    }
  }
}
