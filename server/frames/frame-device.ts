import { GstPipeline } from "../../pipelines/pipeline.js";
import { JPEG_TO_RTP_ELEMENTS as E, jpegToRtpDescription } from "../../pipelines/descriptions.js";
import type { Device, DevicePublisher } from "../devices/device.js";
import type { Logger } from "../log.js";
import type { RelayObserver } from "../relay/observer.js";
import { parseRtp } from "../relay/rtp.js";
import { UpTrack } from "../relay/up-track.js";
import type { StoredFrame } from "./stored-frame.js";

/** Options of a frame device. */
export interface FrameDeviceOptions {
  /** With no frame for this long, the device goes offline, ms. */
  idleMs: number;
  /** With no viewers for this long, the encoder stops, ms. */
  encoderGraceMs: number;
  /** VP8 bitrate for WebRTC viewers, kb/s. */
  bitrateKbps: number;
}

export const FRAME_DEVICE_DEFAULTS: FrameDeviceOptions = { idleMs: 30_000, encoderGraceMs: 5000, bitrateKbps: 1500 };

/** Pushed JPEGs as they come, for consumers that decode them directly (the fallback stream). */
export interface PushedFrames {
  readonly latest: StoredFrame | undefined;
  /** Calls `onFrame` with every frame pushed from now on; returns the unsubscribe. */
  subscribe(onFrame: (frame: StoredFrame) => void): () => void;
}

/**
 * A device that publishes by pushing JPEG frames (HTTP or WebSocket), at any
 * rate from one every few seconds to 30 a second. It keeps its latest frame;
 * while WebRTC viewers (or WHEP players) take its video track, a GStreamer
 * pipeline turns the frames into VP8 RTP for the relay, so it is watched like
 * any other device. Fallback viewers decode the pushed JPEGs themselves
 * (PushedFrames) and need no encoder. A keyframe request re-encodes the
 * latest frame at once, so a viewer joining a slow device does not wait for
 * the next push.
 */
export class FrameDevice implements DevicePublisher, PushedFrames {
  /** The latest frame; nothing reads an older one, so none is kept (a frame may be 4 MiB, `--max-frame-bytes`). */
  private _latest: StoredFrame | undefined;
  /** Counts frames from 1 (StoredFrame.seq). */
  private seq = 0;
  private video: UpTrack | undefined;
  private encoder: GstPipeline | undefined;
  private encoderSize = "";
  /** The last RTP sequence number and timestamp sent, so a restarted encoder continues them. */
  private last: { seq: number; ts: number } | undefined;
  private idleTimer: NodeJS.Timeout | undefined;
  private graceTimer: NodeJS.Timeout | undefined;
  private _closed = false;
  private readonly pushListeners = new Set<(frame: StoredFrame) => void>();

  constructor(
    readonly device: Device,
    private readonly observer: RelayObserver,
    private readonly log: Logger,
    private readonly options: FrameDeviceOptions = FRAME_DEVICE_DEFAULTS,
    private readonly onClosed: (d: FrameDevice) => void = () => {},
  ) {}

  get closed(): boolean {
    return this._closed;
  }

  get latest(): StoredFrame | undefined {
    return this._latest;
  }

  subscribe(onFrame: (frame: StoredFrame) => void): () => void {
    this.pushListeners.add(onFrame);
    return () => this.pushListeners.delete(onFrame);
  }

  /** Stores a checked JPEG and passes it on to the encoder when one runs. */
  push(frame: Omit<StoredFrame, "seq">): StoredFrame {
    if (this._closed) throw new Error("frame device is closed");
    const stored: StoredFrame = { ...frame, seq: ++this.seq };
    this._latest = stored;
    clearTimeout(this.idleTimer);
    this.idleTimer = setTimeout(() => this.close("no frames"), this.options.idleMs);
    this.idleTimer.unref();
    if (!this.video) this.goOnline();
    this.encode(stored, false);
    for (const l of this.pushListeners) l(stored);
    return stored;
  }

  /** Takes the device offline and stops the encoder; idempotent. */
  close(reason: string): void {
    if (this._closed) return;
    this._closed = true;
    clearTimeout(this.idleTimer);
    clearTimeout(this.graceTimer);
    this.pushListeners.clear();
    this.stopEncoder();
    this.video?.close();
    this.device.detach(this);
    this.log.info("frame device offline", { device: this.device.id, reason });
    this.onClosed(this);
  }

  private goOnline(): void {
    this.device.attach(this);
    this.video = new UpTrack({
      id: `frames-${this.device.id}`,
      codec: { kind: "video", mimeType: "video/vp8", clockRate: 90000 },
      requestKeyframe: () => this.keyframe(),
      keyframeBy: "encoder",
      observer: this.observer,
      onConsumers: () => this.followViewers(),
    });
    this.device.publish(this, [this.video]);
    this.log.info("frame device online", { device: this.device.id });
    this.followViewers();
  }

  /** How many take the encoded track: WebRTC viewers and WHEP players. */
  private get rtpViewers(): number {
    return this.video?.downTracks.size ?? 0;
  }

  /** The encoder runs while the track has RTP viewers, and a little longer. */
  private followViewers(): void {
    if (this._closed || !this.video) return;
    if (this.rtpViewers > 0) {
      clearTimeout(this.graceTimer);
      this.graceTimer = undefined;
      if (!this.encoder && this._latest) this.encode(this._latest, true);
    } else if (this.encoder && !this.graceTimer) {
      this.graceTimer = setTimeout(() => {
        this.graceTimer = undefined;
        if (this.rtpViewers === 0) this.stopEncoder();
      }, this.options.encoderGraceMs);
      this.graceTimer.unref();
    }
  }

  private keyframe(): void {
    const latest = this._latest;
    if (latest && this.encoder) this.encode(latest, true);
  }

  private encode(frame: StoredFrame, keyframe: boolean): void {
    if (this.rtpViewers === 0 && !this.encoder) return;
    const size = `${frame.width}x${frame.height}`;
    if (this.encoder && size !== this.encoderSize) this.stopEncoder();
    if (!this.encoder) {
      this.encoder = this.startEncoder();
      this.encoderSize = size;
      keyframe = true;
    }
    if (keyframe) this.encoder.forceKeyUnit(E.sink);
    this.encoder.pushTo(E.src, frame.jpeg);
  }

  private startEncoder(): GstPipeline {
    const video = this.video!;
    // Reused: each new picture size restarts the encoder, and a pipeline made anew is never freed (pipeline.ts).
    const p = new GstPipeline(jpegToRtpDescription({ bitrateKbps: this.options.bitrateKbps }), {
      kind: "frame_encode",
      reuse: true,
      onError: (message) => {
        this.log.warn("frame encoder stopped", { device: this.device.id, message });
        if (this.encoder === p) this.encoder = undefined;
      },
    });
    // A new encoder (new size, or viewers back) continues the track's numbering, as a device reconnect does not need to.
    p.numberFrom(E.pay, this.last && { seqnumOffset: this.last.seq + 1, timestampOffset: this.last.ts + 3000 });
    p.start();
    p.pullFrom(E.sink, (buf) => {
      const rtp = parseRtp(buf);
      if (!rtp) return;
      this.last = { seq: rtp.sequenceNumber, ts: rtp.timestamp };
      video.push(rtp.sequenceNumber, rtp.timestamp, rtp.marker, rtp.payload);
    });
    return p;
  }

  private stopEncoder(): void {
    this.encoder?.close();
    this.encoder = undefined;
    this.encoderSize = "";
  }
}
