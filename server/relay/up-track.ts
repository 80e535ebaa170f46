import { KeyframeRequester, realTimers, type Timers } from "./keyframe-requester.js";
import { isKeyframeStart } from "./keyframe.js";
import { NACK_RETRY_MS, NackGenerator } from "./nack-generator.js";
import type { DownTrack } from "./down-track.js";
import type { FanoutLane } from "./lane.js";
import { nullObserver, type RelayObserver } from "./observer.js";
import { seqDiff } from "./rtp.js";
import { vp8KeyframeSize, vp8Temporal } from "./vp8.js";
import { vp9KeyframeSize, vp9Temporal } from "./vp9.js";

/** How long a track may stay silent and still count as sending, ms (a paused simulcast layer stops). */
const ACTIVE_MS = 1000;
/** The bitrate estimate's window, ms. */
const RATE_WINDOW_MS = 500;

/** One RTP packet as the relay passes it on. `payload` is shared by every viewer: never mutate it. */
export interface RelayPacket {
  sequenceNumber: number;
  timestamp: number;
  marker: boolean;
  payload: Buffer;
  /** True when the packet starts a video keyframe. */
  keyframe: boolean;
  /** Temporal layer as vp8Temporal or vp9Temporal reads it (TID, +4 layer sync or switching-up point, +8 frame start), or -1 without one. */
  temporal: number;
  /** performance.now() when the packet entered the relay. */
  receivedAt: number;
}

/** The codec of a track, as negotiated with its source. */
export interface TrackCodec {
  kind: "video" | "audio";
  /** Lower-case MIME type, e.g. "video/vp8". */
  mimeType: string;
  clockRate: number;
  channels?: number;
  /** The a=fmtp parameters, e.g. "profile-level-id=42e01f;packetization-mode=1". */
  parameters?: string;
}

/** What an UpTrack is made of. */
export interface UpTrackOptions {
  id: string;
  codec: TrackCodec;
  /** Asks the source for a keyframe (PLI, or an encoder event). */
  requestKeyframe: () => void;
  /** How requestKeyframe asks, for tessera_keyframe_requests_total{type}: an RTCP PLI (default) or a local encoder's event. */
  keyframeBy?: "pli" | "encoder";
  /**
   * Asks the source to send these packets again (an RTCP NACK): given, the
   * track watches its sequence numbers for gaps (nack-generator.ts).
   */
  nack?: (lost: number[]) => void;
  observer?: RelayObserver;
  timers?: Timers;
  /** Hears how many DownTracks it feeds whenever that changes (a source that encodes on demand). */
  onConsumers?: (count: number) => void;
  /**
   * A layer encoded on demand: what it carries once a DownTrack attaches
   * (onConsumers starts it). The relay may choose it while it sends nothing.
   */
  onDemand?: OnDemandLayer;
}

/** What a simulcast layer encoded on demand carries when it runs. */
export interface OnDemandLayer {
  width: number;
  height: number;
  /** Its target bitrate, bits/s. */
  bitrate: number;
}

/**
 * A track coming up from a device (a werift receiver, or a local pipeline),
 * fanned out to every viewer's DownTrack. Knows nothing about WebRTC.
 */
export class UpTrack {
  readonly downTracks = new Set<DownTrack>();
  /** The DownTracks not in the lane: forwarded to one by one. */
  private readonly outside = new Set<DownTrack>();
  /** The lane (lane.ts) the steady DownTracks are in, made when the first joins. */
  private _lane: FanoutLane | undefined;
  /** The newest sequence number pushed (-1 before any): the lane takes only packets newer than it. */
  private newestSeq = -1;
  private readonly keyframes: KeyframeRequester;
  private _closed = false;
  /** The simulcast layers this track is one of (itself included), when it is one. */
  private _layers: readonly UpTrack[] | undefined;
  /** The picture size its last VP8 or VP9 keyframe announced. */
  private _frameSize: { width: number; height: number } | undefined;
  private windowStart = 0;
  private windowBytes = 0;
  private rateBps = 0;
  /** Per temporal layer: bytes in the window, and the smoothed share of the rate. */
  private readonly tidBytes = [0, 0, 0, 0];
  private readonly tidShare = [0, 0, 0, 0];
  private _temporalLayers = 0;
  private lastPacketAt = -Infinity;
  /** Upstream repair, when the source can resend. */
  private readonly repair: { gaps: NackGenerator; send: (lost: number[]) => void; timer: unknown } | undefined;
  private readonly timers: Timers;

  readonly id: string;
  readonly codec: TrackCodec;
  readonly onDemand: OnDemandLayer | undefined;
  private readonly observer: RelayObserver;
  private readonly onConsumers: (count: number) => void;

  constructor(o: UpTrackOptions) {
    this.id = o.id;
    this.codec = o.codec;
    this.observer = o.observer ?? nullObserver;
    this.onConsumers = o.onConsumers ?? (() => {});
    this.onDemand = o.onDemand;
    const { requestKeyframe } = o;
    const observer = this.observer;
    const by = o.keyframeBy ?? "pli";
    this.timers = o.timers ?? realTimers;
    this.keyframes = new KeyframeRequester(
      () => {
        observer.keyframeRequestToDevice(by);
        requestKeyframe();
      },
      500,
      this.timers,
    );
    this.repair = o.nack ? { gaps: new NackGenerator(), send: o.nack, timer: undefined } : undefined;
  }

  get kind(): "video" | "audio" {
    return this.codec.kind;
  }

  get closed(): boolean {
    return this._closed;
  }

  /** The simulcast layers of this track's picture (this one among them), or undefined when it has none. */
  get layers(): readonly UpTrack[] | undefined {
    return this._layers;
  }

  /** Makes `layers` (this track among them) the layers of one picture. */
  setLayers(layers: readonly UpTrack[]): void {
    this._layers = layers;
  }

  /** The size of its pictures, once a VP8 or VP9 keyframe said. */
  get frameSize(): { width: number; height: number } | undefined {
    return this._frameSize;
  }

  /** How many temporal layers (VP8, VP9) its packets carry (0 when they carry no TID). */
  get temporalLayers(): number {
    return this._temporalLayers;
  }

  /**
   * The bitrate of temporal layers 0..`tid` together, bits/s: what a viewer
   * forwarded only those gets. The whole bitrate for a track without them.
   */
  temporalBitrate(tid: number, now = performance.now()): number {
    const all = this.bitrate(now);
    if (this._temporalLayers === 0 || tid >= this._temporalLayers - 1) return all;
    let share = 0;
    for (let t = 0; t <= tid; t++) share += this.tidShare[t];
    return all * share;
  }

  /** The incoming bitrate, bits/s; 0 only while it sends nothing. */
  bitrate(now = performance.now()): number {
    if (now - this.lastPacketAt > ACTIVE_MS) return 0;
    // In its first window: what came so far over a whole window (low, but not "silent").
    return this.rateBps > 0 ? this.rateBps : (this.windowBytes * 8000) / RATE_WINDOW_MS;
  }

  /** Feeds one packet from the source to every viewer. */
  push(sequenceNumber: number, timestamp: number, marker: boolean, payload: Buffer, receivedAt = performance.now()): void {
    if (this._closed) return;
    this.observer.packetIn(this.codec.kind, payload.length);
    const mime = this.codec.mimeType;
    const packet: RelayPacket = {
      sequenceNumber,
      timestamp,
      marker,
      payload,
      keyframe: this.codec.kind === "video" && isKeyframeStart(mime, payload),
      temporal: mime === "video/vp8" ? vp8Temporal(payload) : mime === "video/vp9" ? vp9Temporal(payload) : -1,
      receivedAt,
    };
    this.measure(packet);
    if (packet.keyframe) this.keyframes.keyframeArrived();
    if (this.repair) {
      if (this.repair.gaps.received(sequenceNumber, packet.keyframe, receivedAt)) this.askAgain(receivedAt);
      else if (this.repair.gaps.pending > 0) this.askAgainLater();
    }
    const lane = this._lane;
    const newest = this.newestSeq < 0 || seqDiff(sequenceNumber, this.newestSeq) > 0;
    if (newest) this.newestSeq = sequenceNumber;
    if (lane !== undefined && lane.size > 0) {
      // A late packet goes the long way to every viewer: each rewriter knows what it dropped or padded before it.
      if (newest) lane.send(packet);
      else lane.clear();
    }
    for (const down of this.outside) down.forward(packet, this);
  }

  /** The lane its steady DownTracks are in, once one joined. */
  get lane(): FanoutLane | undefined {
    return this._lane;
  }

  /** `down` (attached) joined `lane`: its packets go through it from the next on. */
  joinedLane(down: DownTrack, lane: FanoutLane): void {
    if (!this.downTracks.has(down)) return;
    this._lane = lane;
    this.outside.delete(down);
  }

  /** `down` left the lane: forwarded to one by one again. */
  leftLane(down: DownTrack): void {
    if (this.downTracks.has(down)) this.outside.add(down);
  }

  /** Asks the source for the missing packets that are due. */
  private askAgain(now: number): void {
    const repair = this.repair;
    if (!repair || this._closed) return;
    const lost = repair.gaps.due(now);
    if (lost.length > 0) {
      this.observer.nackToDevice(lost.length);
      repair.send(lost);
    }
    this.askAgainLater();
  }

  /** Runs askAgain once NACK_RETRY_MS from now while packets are missing (also when the source goes quiet). */
  private askAgainLater(): void {
    const repair = this.repair;
    if (!repair || repair.timer !== undefined || repair.gaps.pending === 0) return;
    repair.timer = this.timers.setTimeout(() => {
      repair.timer = undefined;
      this.askAgain(this.timers.now());
    }, NACK_RETRY_MS);
  }

  private measure(p: RelayPacket): void {
    if (p.receivedAt - this.lastPacketAt > ACTIVE_MS) {
      // Back after a pause: start the estimate over.
      this.windowStart = p.receivedAt;
      this.windowBytes = 0;
      this.rateBps = 0;
    }
    this.lastPacketAt = p.receivedAt;
    this.windowBytes += p.payload.length;
    if (p.temporal >= 0) {
      const tid = p.temporal & 3;
      this.tidBytes[tid] += p.payload.length;
      if (tid >= this._temporalLayers) this._temporalLayers = tid + 1;
    }
    const elapsed = p.receivedAt - this.windowStart;
    if (elapsed >= RATE_WINDOW_MS) {
      const rate = (this.windowBytes * 8000) / elapsed;
      const first = this.rateBps === 0;
      this.rateBps = first ? rate : 0.7 * this.rateBps + 0.3 * rate;
      if (this._temporalLayers > 0 && this.windowBytes > 0) {
        for (let t = 0; t < 4; t++) {
          const share = this.tidBytes[t] / this.windowBytes;
          this.tidShare[t] = first ? share : 0.7 * this.tidShare[t] + 0.3 * share;
          this.tidBytes[t] = 0;
        }
      }
      this.windowStart = p.receivedAt;
      this.windowBytes = 0;
    }
    if (!p.keyframe) return;
    const mime = this.codec.mimeType;
    const size = mime === "video/vp8" ? vp8KeyframeSize(p.payload) : mime === "video/vp9" ? vp9KeyframeSize(p.payload) : undefined;
    this._frameSize = size ?? this._frameSize;
  }

  /** A DownTrack starts taking this track's packets. */
  attachDown(down: DownTrack): void {
    if (this.downTracks.has(down)) return;
    this.downTracks.add(down);
    this.outside.add(down);
    this.onConsumers(this.downTracks.size);
  }

  /** A DownTrack stops taking them. */
  detachDown(down: DownTrack): void {
    this.outside.delete(down);
    if (this.downTracks.delete(down)) this.onConsumers(this.downTracks.size);
  }

  /** Asks the source for a keyframe, coalesced (keyframe-requester.ts): at most one per 500 ms, or 200 ms once the last was answered. */
  requestKeyframe(): void {
    if (this.codec.kind === "video") this.keyframes.request();
  }

  /** Ends the track; its DownTracks stay and wait for another source. */
  close(): void {
    if (this._closed) return;
    this._closed = true;
    this._lane?.clear();
    this.keyframes.close();
    if (this.repair?.timer !== undefined) this.timers.clearTimeout(this.repair.timer);
    for (const down of [...this.downTracks]) down.sourceClosed(this);
    this.downTracks.clear();
    this.outside.clear();
  }
}
