/**
 * Per-viewer flow control of the fallback stream. The viewer acks every frame
 * it has drawn (`CLIENT_FRAME_ACK frameId`); frames sent but not acked are a
 * backlog in the socket and the viewer. When the backlog grows past what the
 * viewer can draw in ~2 s, or the viewer goes silent, sending pauses; when
 * acks bring it back, the caller sends a full refresh, since stripes were
 * skipped meanwhile.
 */

/** Milliseconds from an arbitrary origin; injected so tests drive time. */
export interface Clock {
  now(): number;
}

/** Limits of a FlowControl; every field has a default. */
export interface FlowControlOptions {
  /** Pause when the backlog would take longer than this to draw at the viewer's rate. */
  maxBacklogMs: number;
  /** Pause when frames are outstanding and no ack came for this long. */
  ackTimeoutMs: number;
  /** Pause at this many unacked frames, whatever the rate. */
  maxOutstandingFrames: number;
  /** Pause at this many unacked bytes. */
  maxOutstandingBytes: number;
}

/** Defaults: 2 s of backlog, 4 s of silence, 180 frames or 8 MiB unacked. */
export const FLOW_CONTROL_DEFAULTS: FlowControlOptions = {
  maxBacklogMs: 2000,
  ackTimeoutMs: 4000,
  maxOutstandingFrames: 180,
  maxOutstandingBytes: 8 * 1024 * 1024,
};

/** Most sent frames remembered; older ones are forgotten as if acked, without an RTT. */
export const MAX_TRACKED_FRAMES = 1024;

/** Why sending paused. */
export type PauseReason = "backlog" | "silence" | "limit";

interface SentFrame {
  frameId: number;
  sentAt: number;
  bytes: number;
}

/** Frame ids are u16; an ack covers ids up to half the space behind it. */
const HALF = 0x8000;
/** `a` at or before `b` in u16 order. */
function notAfter(a: number, b: number): boolean {
  return ((b - a) & 0xffff) < HALF;
}

/** The EWMA weight of each new RTT sample, as TCP's SRTT. */
const RTT_GAIN = 1 / 8;
/** Delivered-rate measurement window. */
const RATE_WINDOW_MS = 1000;

/**
 * Tracks one viewer's unacked frames and decides whether to send more.
 * The delivered rate counts acked frames over the time frames were
 * outstanding, so a still picture (few frames sent) does not read as a slow
 * viewer.
 */
export class FlowControl {
  private readonly o: FlowControlOptions;
  /** Unacked frames in send order. */
  private readonly outstanding: SentFrame[] = [];
  private outstandingBytes = 0;
  private lastAckAt = -Infinity;
  private paused = false;
  private pendingPause: PauseReason | undefined;
  private pendingRefresh = false;
  private _rttMs: number | undefined;
  private _deliveredFps: number | undefined;
  /** Frames acked and busy milliseconds in the current rate window. */
  private windowFrames = 0;
  private windowBusyMs = 0;
  /** When the outstanding list last became non-empty or was last acked into. */
  private busySince: number | undefined;
  /** Times sending paused. */
  pauses = 0;

  constructor(
    private readonly clock: Clock,
    options: Partial<FlowControlOptions> = {},
  ) {
    this.o = { ...FLOW_CONTROL_DEFAULTS, ...options };
  }

  /** Smoothed send-to-ack time, ms; undefined before the first ack. */
  get rttMs(): number | undefined {
    return this._rttMs;
  }

  /** Frames per second the viewer acks while it has frames to draw; undefined until measured. */
  get deliveredFps(): number | undefined {
    return this._deliveredFps;
  }

  /** Unacked frames. */
  get outstandingFrames(): number {
    return this.outstanding.length;
  }

  /** Records bytes sent for a frame; repeated calls for the newest frame add up (one per stripe). */
  sent(frameId: number, bytes: number): void {
    const now = this.clock.now();
    const last = this.outstanding[this.outstanding.length - 1];
    if (last?.frameId === frameId) {
      last.bytes += bytes;
    } else {
      if (this.outstanding.length === 0) this.busySince = now;
      this.outstanding.push({ frameId, sentAt: now, bytes });
      if (this.outstanding.length > MAX_TRACKED_FRAMES) this.outstandingBytes -= this.outstanding.shift()!.bytes;
    }
    this.outstandingBytes += bytes;
  }

  /**
   * The viewer drew `frameId`: it and every earlier frame are acked. Acks for
   * frames never sent, or already acked, change nothing. Returns how many
   * frames this ack covered.
   */
  ack(frameId: number): number {
    const newest = this.outstanding[this.outstanding.length - 1];
    if (!newest || !notAfter(frameId, newest.frameId)) return 0;
    const now = this.clock.now();
    let n = 0;
    while (this.outstanding.length && notAfter(this.outstanding[0].frameId, frameId)) {
      const f = this.outstanding.shift()!;
      this.outstandingBytes -= f.bytes;
      if (f.frameId === frameId) {
        const sample = now - f.sentAt;
        this._rttMs = this._rttMs === undefined ? sample : this._rttMs + RTT_GAIN * (sample - this._rttMs);
      }
      n++;
    }
    if (n === 0) return 0;
    this.lastAckAt = now;
    this.measureRate(n, now);
    if (this.paused && this.overloaded(now) === undefined) {
      this.paused = false;
      this.pendingRefresh = true;
    }
    return n;
  }

  /**
   * Whether to send the next frame. Turns false when the backlog exceeds its
   * limits; `takePause()` then reports it once. Stays false until acks clear
   * the backlog.
   */
  canSend(): boolean {
    if (this.paused) return false;
    const reason = this.overloaded(this.clock.now());
    if (reason === undefined) return true;
    this.paused = true;
    this.pendingPause = reason;
    this.pauses++;
    return false;
  }

  /** Why sending just paused, once per pause: the caller drops its queue and counts it. */
  takePause(): PauseReason | undefined {
    const r = this.pendingPause;
    this.pendingPause = undefined;
    return r;
  }

  /** True once after a pause ended: the caller sends every stripe again. */
  takeRefresh(): boolean {
    const r = this.pendingRefresh;
    this.pendingRefresh = false;
    return r;
  }

  private overloaded(now: number): PauseReason | undefined {
    const n = this.outstanding.length;
    if (n === 0) return undefined;
    if (n >= this.o.maxOutstandingFrames || this.outstandingBytes >= this.o.maxOutstandingBytes) return "limit";
    if (this._deliveredFps !== undefined && (n / this._deliveredFps) * 1000 > this.o.maxBacklogMs) return "backlog";
    const quietSince = Math.max(this.lastAckAt, this.outstanding[0].sentAt);
    if (now - quietSince >= this.o.ackTimeoutMs) return "silence";
    return undefined;
  }

  private measureRate(frames: number, now: number): void {
    // A stall past the ack timeout is the silence rule's business; counted
    // here it would read as a slow viewer and pause again after resuming.
    const busy = now - (this.busySince ?? now);
    if (busy < this.o.ackTimeoutMs) {
      this.windowFrames += frames;
      this.windowBusyMs += busy;
    }
    this.busySince = this.outstanding.length ? now : undefined;
    if (this.windowBusyMs < RATE_WINDOW_MS) return;
    const fps = (this.windowFrames * 1000) / this.windowBusyMs;
    this._deliveredFps = this._deliveredFps === undefined ? fps : (this._deliveredFps + fps) / 2;
    this.windowFrames = 0;
    this.windowBusyMs = 0;
  }
}
