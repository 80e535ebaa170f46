/**
 * When `?transport=auto` gives up on WebRTC for the WebSocket fallback. Pure:
 * timers are injected, so e2e/fallback-wire.test.ts drives it exactly.
 *
 * Rules, while connecting: after an answer, the peer connection must reach
 * "connected" within CONNECT_DEADLINE_MS; after `watch`, an offer must come
 * within the same time while the device is online; a connection that fails
 * twice without connecting in between is given up; and so is WebRTC at once
 * when the browser can decode none of the device's video codecs.
 *
 * And for the rest of the session: a connection that worked and is not
 * connected again within LOST_MS ("lost", e.g. UDP blocked from now on), and
 * a picture that makes no progress for STALL_MS while media still arrives
 * ("stalled": the link carries too little for a whole frame, or loss beats
 * the repairs). A device that sends nothing (a still screen) is neither.
 * Browsers take about 8 s to call a dead link "disconnected"; the server's
 * RTCP sender reports arrive at least every 1.5 s on a live one, so a
 * connection that heard nothing at all for SILENT_MS is lost sooner. And
 * "too_slow": the server says the link cannot carry even its smallest layer
 * whole (`layer` linkTooSlow: the viewer gets that layer's fewest frames),
 * and the picture crawls below CRAWL_FPS for CRAWL_MS.
 */
import { isFallbackCodec, type FallbackCodec } from "../../../server/protocol/fallback.js";
import type { StatsSample } from "../stats-summary.js";

/** How long WebRTC gets to connect (or the server to offer) before the fallback, ms. */
export const CONNECT_DEADLINE_MS = 4000;
/** Failures in a row (without "connected" between) that end WebRTC. */
export const MAX_FAILURES = 2;
/** How long a connection that worked may stay away from "connected", ms. */
export const LOST_MS = 6000;
/** How long the picture may make no progress while media arrives, ms. */
export const STALL_MS = 4000;
/** How long a connection that has heard from the server may hear nothing at all, ms. */
export const SILENT_MS = 3500;
/** Below this frame rate, on a link the server calls too slow, the picture crawls. */
export const CRAWL_FPS = 3;
/** How long it may crawl before WebRTC is given up, ms. */
export const CRAWL_MS = 4000;

/** Timer functions (window.setTimeout in the page, fakes in tests). */
export interface Timers {
  set(fn: () => void, ms: number): unknown;
  clear(handle: unknown): void;
}

/** Why the fallback was chosen. */
export type FallbackReason = "no_offer" | "not_connected" | "failed" | "no_codec" | "lost" | "stalled" | "too_slow";

/** Watches one Watch's progress and calls `fallback` once when WebRTC should be given up. */
export class FallbackTrigger {
  private timer: unknown;
  private deadline: "offer" | "connect" | undefined;
  private failures = 0;
  private device: "unknown" | "online" | "offline" = "unknown";
  private fired = false;
  /** Set while a connection that worked is away from "connected". */
  private lostTimer: unknown;
  private connected = false;
  /** The last sample with progress (a frame decoded), or the first since connecting. */
  private progress: { at: number; frames: number; bytes: number } | undefined;
  /** The last sample in which the connection received anything, and that total. */
  private heard: { at: number; bytes: number } | undefined;
  /** The server says the link cannot carry even its smallest layer. */
  private tooSlow = false;
  /** Samples (time, frames decoded) since the server called the link too slow, oldest first. */
  private readonly slowSamples: { at: number; frames: number }[] = [];

  constructor(
    private readonly timers: Timers,
    private readonly fallback: (reason: FallbackReason) => void,
    private readonly deadlineMs = CONNECT_DEADLINE_MS,
    private readonly lostMs = LOST_MS,
    private readonly stallMs = STALL_MS,
    private readonly silentMs = SILENT_MS,
  ) {}

  /** `watch` went to the server: an offer should follow. */
  watchSent(): void {
    this.arm("offer");
  }

  /** An offer came (the answer follows). */
  offered(): void {
    if (this.deadline === "offer") this.disarm();
  }

  /** The answer went to the server: the connection should come up. */
  answered(): void {
    this.arm("connect");
  }

  /** The current peer connection's state. */
  connectionState(state: string): void {
    if (state === "connected") {
      this.failures = 0;
      this.disarm();
      this.clearLost();
      this.connected = true;
      this.progress = undefined;
      this.heard = undefined;
      this.slowSamples.length = 0;
      return;
    }
    if (state === "failed" && ++this.failures >= MAX_FAILURES) return this.fire("failed");
    if (this.connected && this.lostTimer === undefined && !this.fired) {
      this.lostTimer = this.timers.set(() => {
        this.lostTimer = undefined;
        if (this.device !== "offline") this.fire("lost");
      }, this.lostMs);
    }
    this.connected = false;
  }

  /** A stats sample of the current connection (every second). */
  sample(s: Pick<StatsSample, "at" | "framesDecoded" | "videoBytes" | "transportBytes">): void {
    if (!this.connected || this.fired) return;
    if (s.transportBytes !== null && this.device !== "offline") {
      const h = this.heard;
      if (!h || s.transportBytes > h.bytes) this.heard = { at: s.at, bytes: s.transportBytes };
      else if (h.bytes > 0 && s.at - h.at >= this.silentMs) return this.fire("lost");
    } else this.heard = undefined;
    const frames = s.framesDecoded ?? 0;
    const bytes = s.videoBytes ?? 0;
    if (this.tooSlow && this.crawls(s.at, frames)) return this.fire("too_slow");
    const p = this.progress;
    if (!p || frames > p.frames || this.device === "offline") {
      this.progress = { at: s.at, frames, bytes };
      return;
    }
    if (s.at - p.at >= this.stallMs && bytes > p.bytes) this.fire("stalled");
  }

  /** What the server's `layer` says: the link cannot (or can again) carry even the smallest layer whole. */
  linkTooSlow(on: boolean): void {
    this.tooSlow = on;
    if (!on) this.slowSamples.length = 0;
  }

  /** Whether, over the last CRAWL_MS on a too-slow link, fewer than CRAWL_FPS frames a second were decoded (frames come in bursts there). */
  private crawls(at: number, frames: number): boolean {
    const w = this.slowSamples;
    w.push({ at, frames });
    while (w.length > 1 && at - w[1].at >= CRAWL_MS) w.shift();
    const first = w[0];
    return at - first.at >= CRAWL_MS && ((frames - first.frames) * 1000) / (at - first.at) < CRAWL_FPS;
  }

  /** The browser cannot decode the video the server offers: WebRTC cannot show it. */
  unplayable(): void {
    this.fire("no_codec");
  }

  /** Where the device is: no offer is expected while it is offline. */
  deviceState(state: "unknown" | "online" | "offline"): void {
    this.device = state;
    if (state === "offline" && this.deadline === "offer") this.disarm();
  }

  /** Signaling went away: nothing is expected until the next `watch`. */
  pause(): void {
    this.disarm();
    this.clearLost();
    this.connected = false;
  }

  /** Stops for good; idempotent. */
  close(): void {
    this.fired = true;
    this.disarm();
    this.clearLost();
  }

  private clearLost(): void {
    if (this.lostTimer !== undefined) this.timers.clear(this.lostTimer);
    this.lostTimer = undefined;
  }

  private arm(kind: "offer" | "connect"): void {
    if (this.fired) return;
    this.disarm();
    this.deadline = kind;
    this.timer = this.timers.set(() => {
      this.timer = undefined;
      this.deadline = undefined;
      if (kind === "offer" && this.device === "offline") return;
      this.fire(kind === "offer" ? "no_offer" : "not_connected");
    }, this.deadlineMs);
  }

  private disarm(): void {
    if (this.timer !== undefined) this.timers.clear(this.timer);
    this.timer = undefined;
    this.deadline = undefined;
  }

  private fire(reason: FallbackReason): void {
    if (this.fired) return;
    this.fired = true;
    this.disarm();
    this.clearLost();
    this.fallback(reason);
  }
}

/** `?transport=`: auto (WebRTC, falling back to the WebSocket stream), webrtc only, or ws only. */
export type TransportChoice = "auto" | "webrtc" | "ws";

/** Reads `?transport=auto|webrtc|ws` (default auto) and `&codec=jpeg|h264` (undefined: pick by support). */
export function transportFromQuery(search: string): { transport: TransportChoice; codec: FallbackCodec | undefined } {
  const q = new URLSearchParams(search);
  const t = q.get("transport");
  const c = q.get("codec");
  return {
    transport: t === "webrtc" || t === "ws" ? t : "auto",
    codec: isFallbackCodec(c) ? c : undefined,
  };
}
