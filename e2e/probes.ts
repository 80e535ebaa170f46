/**
 * Code that runs inside the browser page (Playwright serialises these
 * functions, so they must not reference anything outside their own body).
 * The root tsconfig has no DOM lib, so the few browser APIs used here are
 * declared as minimal interfaces.
 */

/** What the frame probe records, read with `readProbe`. */
export interface ProbeState {
  /** requestVideoFrameCallback invocations: each is a newly presented frame. */
  frames: number;
  /** performance.now() of the first presented frame (same origin as the app's timeline). */
  firstFrameAt: number | null;
  lastFrameAt: number | null;
  width: number;
  height: number;
  /** Every change of a watched data-* attribute, in order. */
  changes: { at: number; attr: string; value: string | null }[];
}

/** The slice of the viewer's `window.tessera` the tests read (see web/src/viewer.ts). */
export interface ViewerView {
  deviceId: string | null;
  connectionState: string | null;
  timeline: { watchSentAt: number | null; offerAt: number | null; answerSentAt: number | null; connectedAt: number | null; offers: number } | null;
  stats: { fps: number | null; videoCodec: string | null; width: number | null; height: number | null; framesDecoded: number | null; transport: string } | null;
  /** "webrtc" | "ws_jpeg" | "ws_h264", null before a device is watched. */
  transport: string | null;
  /** The WebSocket fallback, while in use. */
  fallback: {
    peerId: string | null;
    framesPainted: number;
    stream: { width: number; height: number; codec: string; stripeHeight: number } | null;
    socket: string;
    reason: string | null;
  } | null;
}

/** The slice of the device page's `window.tessera` the tests read (see web/src/device.ts). */
export interface DeviceView {
  state: string | null;
  connectionState: string | null;
  offers: number;
}

interface FrameMeta {
  width: number;
  height: number;
}
interface ProbeVideo {
  requestVideoFrameCallback(cb: (now: number, meta: FrameMeta) => void): number;
}
interface ProbeElement {
  getAttribute(name: string): string | null;
}
interface ProbeMutation {
  attributeName: string | null;
  target: ProbeElement;
}
interface ProbeGlobal {
  __probe?: ProbeState;
  tessera?: Record<string, unknown>;
  document: {
    body: ProbeElement | null;
    querySelector(selector: string): unknown;
    addEventListener(type: string, fn: () => void): void;
  };
  MutationObserver: new (cb: (records: ProbeMutation[]) => void) => {
    observe(target: ProbeElement, options: { attributes: boolean; attributeFilter?: string[] }): void;
  };
}

/** Options of the probe: which <video> to count frames of, which elements' data-* to record. */
export interface ProbeOptions {
  video: string;
  watch: string[];
  attributes: string[];
}

/**
 * An init script (page.addInitScript): once the DOM is parsed, counts the
 * frames the <video> presents via requestVideoFrameCallback and records
 * changes of the given data attributes, into `window.__probe`.
 */
export function installProbe(options: ProbeOptions): void {
  const g = globalThis as unknown as ProbeGlobal;
  const probe: ProbeState = { frames: 0, firstFrameAt: null, lastFrameAt: null, width: 0, height: 0, changes: [] };
  g.__probe = probe;
  g.document.addEventListener("DOMContentLoaded", () => {
    const video = g.document.querySelector(options.video) as ProbeVideo | null;
    if (video) {
      const onFrame = (now: number, meta: FrameMeta) => {
        probe.frames++;
        if (probe.firstFrameAt === null) probe.firstFrameAt = now;
        probe.lastFrameAt = now;
        probe.width = meta.width;
        probe.height = meta.height;
        video.requestVideoFrameCallback(onFrame);
      };
      video.requestVideoFrameCallback(onFrame);
    }
    const observer = new g.MutationObserver((records) => {
      for (const r of records) {
        if (r.attributeName) probe.changes.push({ at: performance.now(), attr: r.attributeName, value: r.target.getAttribute(r.attributeName) });
      }
    });
    for (const selector of options.watch) {
      const target = (selector === "body" ? g.document.body : g.document.querySelector(selector)) as ProbeElement | null;
      if (target) observer.observe(target, { attributes: true, attributeFilter: options.attributes });
    }
  });
}

/** Reads the probe (page.evaluate). */
export function readProbe(): ProbeState | null {
  const g = globalThis as unknown as ProbeGlobal;
  return g.__probe ? { ...g.__probe, changes: [...g.__probe.changes] } : null;
}

/** Reads the viewer's hooks (page.evaluate). */
export function readViewer(): ViewerView {
  const t = (globalThis as unknown as ProbeGlobal).tessera;
  const pc = t?.pc as { connectionState: string } | undefined;
  return {
    deviceId: (t?.deviceId as string | undefined) ?? null,
    connectionState: pc?.connectionState ?? null,
    timeline: (t?.timeline as ViewerView["timeline"]) ?? null,
    stats: (t?.stats as ViewerView["stats"]) ?? null,
    transport: (t?.transport as string | undefined) ?? null,
    fallback: t?.fallback ? (JSON.parse(JSON.stringify(t.fallback)) as ViewerView["fallback"]) : null,
  };
}

/** Reads the device page's hooks (page.evaluate). */
export function readDevice(): DeviceView {
  const t = (globalThis as unknown as ProbeGlobal).tessera;
  const pc = t?.pc as { connectionState: string } | undefined;
  return { state: (t?.state as string | undefined) ?? null, connectionState: pc?.connectionState ?? null, offers: (t?.offers as number | undefined) ?? 0 };
}

/** What `measureAudio` reports. */
export interface AudioMeasure {
  /** Highest RMS of a 2048-sample window seen (0 = silence, 1 = full scale). */
  peak: number;
  /** How long it listened, ms. */
  ms: number;
  /** The AudioContext's state while listening ("running" unless autoplay policy held it). */
  context: string;
  /** Why nothing was measured, when there was no track. */
  error?: string;
}

interface AudioGlobal {
  tessera?: { talkback?: unknown };
  document: { querySelector(selector: string): { srcObject?: { getAudioTracks(): unknown[] } } | null };
  MediaStream: new (tracks: unknown[]) => unknown;
  AudioContext: new () => {
    state: string;
    resume(): Promise<void>;
    close(): Promise<void>;
    createMediaStreamSource(stream: unknown): { connect(node: unknown): void };
    createAnalyser(): { fftSize: number; getFloatTimeDomainData(buffer: Float32Array): void };
  };
}

/**
 * In the page (page.evaluate): listens to an audio track with a WebAudio
 * AnalyserNode until its RMS exceeds `threshold` or `timeoutMs` passes.
 * `source` picks the track: "video" is the audio of #video's stream (the
 * viewer), "talkback" is `window.tessera.talkback` (the device page).
 */
export async function measureAudio(opts: { source: "video" | "talkback"; threshold: number; timeoutMs: number }): Promise<AudioMeasure> {
  const g = globalThis as unknown as AudioGlobal;
  const track = opts.source === "video" ? g.document.querySelector("#video")?.srcObject?.getAudioTracks()[0] : g.tessera?.talkback;
  if (!track) return { peak: 0, ms: 0, context: "none", error: `no ${opts.source} audio track` };
  const ctx = new g.AudioContext();
  await ctx.resume();
  const analyser = ctx.createAnalyser();
  analyser.fftSize = 2048;
  ctx.createMediaStreamSource(new g.MediaStream([track])).connect(analyser);
  const buffer = new Float32Array(analyser.fftSize);
  const t0 = performance.now();
  let peak = 0;
  while (peak <= opts.threshold && performance.now() - t0 < opts.timeoutMs) {
    await new Promise((resolve) => setTimeout(resolve, 20));
    analyser.getFloatTimeDomainData(buffer);
    let sum = 0;
    for (const v of buffer) sum += v * v;
    peak = Math.max(peak, Math.sqrt(sum / buffer.length));
  }
  const context = ctx.state;
  await ctx.close();
  return { peak, ms: performance.now() - t0, context };
}
