import type { LayerState } from "../../server/protocol/messages.js";
import { codecLabel } from "./format.js";

/** Pure: turning getStats() reports into samples and overlay rows (unit-tested in e2e/stats.test.ts). */

/** One second's view of a viewer peer connection, derived from getStats(). */
export interface StatsSample {
  /** performance.now() of the sample, ms. */
  at: number;
  /** Inbound video bitrate over the last interval, kb/s. */
  videoKbps: number | null;
  audioKbps: number | null;
  /** Decoded frames per second (framesPerSecond, or the framesDecoded delta). */
  fps: number | null;
  /** How media arrives: WebRTC, or the WebSocket fallback with its codec. */
  transport: "webrtc" | "ws_jpeg" | "ws_h264";
  /** For WebRTC, the local candidate type of the pair in use (host, srflx, relay). */
  route: string | null;
  /** Round-trip time of the selected candidate pair, ms. */
  rttMs: number | null;
  /** How long video frames waited in the browser's jitter buffer over the last interval, ms on average (the playout delay). */
  delayMs: number | null;
  packetsLost: number | null;
  /** NACKs the browser sent for the video so far. */
  nackCount: number | null;
  framesDecoded: number | null;
  width: number | null;
  height: number | null;
  /** e.g. "video/VP8". */
  videoCodec: string | null;
  audioCodec: string | null;
  /** Raw counters the next sample needs for deltas. */
  videoBytes: number | null;
  audioBytes: number | null;
  /** inbound-rtp jitterBufferDelay (s) and jitterBufferEmittedCount. */
  jitterDelay: number | null;
  jitterEmitted: number | null;
  /** Everything received on the connection so far (media, RTCP, data), bytes: silence means the link is gone. */
  transportBytes: number | null;
  /** The jitter buffer target the page set for resends to arrive in time (repair-buffer.ts), ms; absent while the browser keeps its own. */
  repairTargetMs?: number;
  /** On the WebSocket stream: the server's pace for this viewer (`pace`), once it sent one. */
  pace?: FallbackPace;
}

/** The fallback stream's pace for one viewer: the frame rate it is sent at and its quality tier (0 the top). */
export interface FallbackPace {
  fps: number;
  tier: number;
  tiers: number;
}

export type StatsReport = Record<string, unknown> & { id: string; type: string };

const num = (v: unknown): number | null => (typeof v === "number" && Number.isFinite(v) ? v : null);
const str = (v: unknown): string | null => (typeof v === "string" ? v : null);

function kbps(bytes: number | null, prevBytes: number | null | undefined, dtMs: number): number | null {
  if (bytes === null || prevBytes == null || dtMs <= 0 || bytes < prevBytes) return null;
  return ((bytes - prevBytes) * 8) / dtMs;
}

/** The candidate pair in use: the transport's selected pair, else a nominated succeeded one. */
function selectedPair(reports: Map<string, StatsReport>): StatsReport | undefined {
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
export function summarize(stats: Iterable<StatsReport>, prev: StatsSample | undefined, now: number): StatsSample {
  const reports = new Map<string, StatsReport>();
  for (const r of stats) reports.set(r.id, r);
  let video: StatsReport | undefined;
  let audio: StatsReport | undefined;
  for (const r of reports.values()) {
    if (r.type !== "inbound-rtp") continue;
    if (r.kind === "video" && !video) video = r;
    if (r.kind === "audio" && !audio) audio = r;
  }
  const codecOf = (r: StatsReport | undefined) => {
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
  const jitterDelay = num(video?.jitterBufferDelay);
  const jitterEmitted = num(video?.jitterBufferEmittedCount);
  let delayMs: number | null = null;
  if (jitterDelay !== null && jitterEmitted !== null) {
    const [d0, n0] =
      prev?.jitterDelay != null && prev.jitterEmitted != null && jitterEmitted > prev.jitterEmitted ? [prev.jitterDelay, prev.jitterEmitted] : [0, 0];
    if (jitterEmitted > n0) delayMs = ((jitterDelay - d0) * 1000) / (jitterEmitted - n0);
  }
  const pair = selectedPair(reports);
  let transportBytes: number | null = null;
  for (const r of reports.values()) if (r.type === "transport") transportBytes = num(r.bytesReceived) ?? transportBytes;
  transportBytes ??= num(pair?.bytesReceived);
  const rtt = num(pair?.currentRoundTripTime);
  const local = pair && reports.get(String(pair.localCandidateId));
  return {
    at: now,
    transport: "webrtc",
    route: local ? str(local.candidateType) : null,
    videoKbps: kbps(videoBytes, prev?.videoBytes, dt),
    audioKbps: kbps(audioBytes, prev?.audioBytes, dt),
    fps,
    rttMs: rtt === null ? null : rtt * 1000,
    delayMs,
    packetsLost: num(video?.packetsLost),
    nackCount: num(video?.nackCount),
    framesDecoded,
    width: num(video?.frameWidth),
    height: num(video?.frameHeight),
    videoCodec: codecOf(video),
    audioCodec: codecOf(audio),
    videoBytes,
    audioBytes,
    jitterDelay,
    jitterEmitted,
    transportBytes,
  };
}

/** "2 of 3 · 640×360", "· ¼ of the frames" while the server forwards fewer temporal layers, "· probing" while it probes the link before a climb. */
function layerText(l: Omit<LayerState, "type" | "deviceId">): string {
  const size = l.width && l.height ? ` · ${l.width}×${l.height}` : "";
  const share = l.temporal !== undefined && l.temporalLayers && l.temporal < l.temporalLayers - 1 ? 2 ** (l.temporal - (l.temporalLayers - 1)) : 1;
  const frames = share < 1 ? ` · ${share === 0.5 ? "½" : share === 0.25 ? "¼" : share.toFixed(2)} of the frames` : "";
  return `${l.layer + 1} of ${l.layers}${size}${frames}${l.probing === true ? " · probing" : ""}`;
}

/** What the overlay shows beside a sample. */
export interface OverlayExtras {
  /** The input round trip while in control, ms. */
  inputMs?: number;
  /** The last change of transport, in words. */
  switched?: string;
  /** The server's `layer` (shown while on WebRTC). */
  layer?: Omit<LayerState, "type" | "deviceId">;
}

/** The sample as label/value rows for the overlay. */
export function statsRows(s: StatsSample, extras: OverlayExtras = {}): [string, string][] {
  const { inputMs, switched } = extras;
  const layer = s.transport === "webrtc" ? extras.layer : undefined;
  const f = (v: number | null, digits = 0, unit = "") => (v === null ? "–" : `${v.toFixed(digits)}${unit}`);
  const transport = s.transport === "webrtc" ? `WebRTC${s.route ? ` · ${s.route}` : ""}` : s.transport === "ws_jpeg" ? "WebSocket · JPEG" : "WebSocket · H.264";
  const row = (label: string, value: string): [string, string] => [label, value];
  return [
    ["via", transport],
    ["video", `${f(s.videoKbps, 0, " kb/s")}`],
    ["fps", f(s.fps, 0)],
    ["size", s.width && s.height ? `${s.width}×${s.height}` : "–"],
    ...(layer ? [row("layer", layerText(layer))] : []),
    ...(layer?.estimate !== undefined ? [row("estimate", `${(layer.estimate / 1e6).toFixed(layer.estimate < 1e6 ? 2 : 1)} Mb/s`)] : []),
    ["codec", [s.videoCodec, s.audioCodec].flatMap((c) => (c ? [codecLabel(c)] : [])).join(" + ") || "–"],
    ["rtt", f(s.rttMs, 0, " ms")],
    ["delay", `${f(s.delayMs, 0, " ms")}${s.repairTargetMs !== undefined && s.transport === "webrtc" ? ` · ${s.repairTargetMs} ms for resends` : ""}`],
    ...(s.pace && s.transport !== "webrtc" ? [row("pace", `${s.pace.fps} fps · quality ${s.pace.tiers - s.pace.tier} of ${s.pace.tiers}`)] : []),
    ...(inputMs === undefined ? [] : [row("input", f(inputMs, 0, " ms"))]),
    ["lost", f(s.packetsLost, 0)],
    ...(switched === undefined ? [] : [row("switched", switched)]),
  ];
}
