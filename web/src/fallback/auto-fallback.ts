/**
 * When `?transport=auto` gives up on WebRTC for the WebSocket fallback. Pure:
 * timers are injected, so e2e/fallback-wire.test.ts drives it exactly.
 *
 * Rules: after an answer, the peer connection must reach "connected" within
 * CONNECT_DEADLINE_MS; after `watch`, an offer must come within the same time
 * while the device is online; a connection that fails twice without
 * connecting in between is given up; and so is WebRTC at once when the
 * browser can decode none of the device's video codecs.
 */
import { isFallbackCodec, type FallbackCodec } from "../../../server/protocol/fallback.js";

/** How long WebRTC gets to connect (or the server to offer) before the fallback, ms. */
export const CONNECT_DEADLINE_MS = 4000;
/** Failures in a row (without "connected" between) that end WebRTC. */
export const MAX_FAILURES = 2;

/** Timer functions (window.setTimeout in the page, fakes in tests). */
export interface Timers {
  set(fn: () => void, ms: number): unknown;
  clear(handle: unknown): void;
}

/** Why the fallback was chosen. */
export type FallbackReason = "no_offer" | "not_connected" | "failed" | "no_codec";

/** Watches one Watch's progress and calls `fallback` once when WebRTC should be given up. */
export class FallbackTrigger {
  private timer: unknown;
  private deadline: "offer" | "connect" | undefined;
  private failures = 0;
  private device: "unknown" | "online" | "offline" = "unknown";
  private fired = false;

  constructor(
    private readonly timers: Timers,
    private readonly fallback: (reason: FallbackReason) => void,
    private readonly deadlineMs = CONNECT_DEADLINE_MS,
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
    } else if (state === "failed") {
      if (++this.failures >= MAX_FAILURES) this.fire("failed");
    }
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
  }

  /** Stops for good; idempotent. */
  close(): void {
    this.fired = true;
    this.disarm();
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
