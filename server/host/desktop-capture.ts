import { DESKTOP_ELEMENTS, ENCODER_BITRATE, desktopCaptureDescription, type DesktopCaptureOptions } from "../../pipelines/desktop.js";
import { fromGstI420, type I420Picture } from "../../pipelines/i420.js";
import { GstPipeline } from "../../pipelines/pipeline.js";
import { PICTURE_BUFFERS } from "../../pipelines/picture-decoders.js";
import { OnDemandLayers, type OnDemandLayersOptions } from "../sources/on-demand-layers.js";
import { localVideoCodec } from "../sources/rtp-codecs.js";
import { IDLE_FPS } from "./idle-rate.js";

/** What a capture hands on. */
export interface DesktopCaptureSinks {
  /** One RTP packet of the encoded screen. */
  onRtp(packet: Buffer): void;
  /** One raw picture, while someone asked for them (rawPictures); its buffer is written again PICTURE_BUFFERS pictures later. */
  onPicture(picture: I420Picture): void;
  /** The pipeline stopped (the display went away, an encoder failed); the capture is closed. */
  onError(message: string): void;
}

/** Frame-rate and bitrate limits a viewer's request is held to. */
export interface CaptureLimits {
  maxFps: number;
  maxBitrateKbps: number;
}

/**
 * One X display captured by GStreamer: RTP out for WebRTC viewers, raw I420
 * pictures for the fallback (only while wanted; the valve is closed
 * otherwise), keyframes on request, and frame rate and bitrate that follow
 * requests without a restart. The same class runs inside the server and in
 * the desktop agent. With `layers` (VP8, in the server) it also offers the
 * lower simulcast layers, each encoded only while a viewer takes it (`layers`).
 */
export class DesktopCapture {
  private readonly pipeline: GstPipeline;
  private rawWanted = false;
  private idling = false;
  /** The last RTP packet's sequence number and timestamp, and when it came (performance.now()). */
  private last: { seq: number; ts: number; at: number } | undefined;
  private _fps: number;
  private _bitrateKbps: number;
  /** The lower simulcast layers' tracks, when the capture offers them. */
  readonly layers: OnDemandLayers | undefined;

  /** @param layerTracks how the lower layers' tracks are made, when `options.layers` asks for them */
  constructor(
    readonly options: DesktopCaptureOptions,
    private readonly sinks: DesktopCaptureSinks,
    readonly limits: CaptureLimits = { maxFps: options.fps, maxBitrateKbps: options.bitrateKbps },
    layerTracks?: Omit<OnDemandLayersOptions, "codec" | "size">,
  ) {
    this._fps = options.fps;
    this._bitrateKbps = options.bitrateKbps;
    this.pipeline = new GstPipeline(desktopCaptureDescription(options), { kind: "desktop_capture", onError: (message) => sinks.onError(message) });
    if (options.layers && options.encoder === "vp8enc" && layerTracks) {
      this.layers = new OnDemandLayers(this.pipeline, { ...layerTracks, codec: localVideoCodec("vp8"), size: options.layers.size });
    }
  }

  get closed(): boolean {
    return this.pipeline.closed;
  }

  get fps(): number {
    return this._fps;
  }

  get bitrateKbps(): number {
    return this._bitrateKbps;
  }

  start(): void {
    this.pipeline.start();
    this.pipeline.pullFrom(DESKTOP_ELEMENTS.rtpSink, (buf) => {
      if (buf.length >= 12) this.last = { seq: buf.readUInt16BE(2), ts: buf.readUInt32BE(4), at: performance.now() };
      this.sinks.onRtp(buf);
    });
    // Raw pictures go round a ring of reused buffers; the RTP sink's do not (the relay keeps packets for resends).
    this.pipeline.pullFrom(
      DESKTOP_ELEMENTS.rawSink,
      (buf, caps) => {
        const { width, height } = caps;
        if (!this.rawWanted || typeof width !== "number" || typeof height !== "number") return;
        this.sinks.onPicture(fromGstI420(buf, width, height));
      },
      { reuse: PICTURE_BUFFERS },
    );
    this.layers?.start();
  }

  /**
   * Where a capture that replaces this one should start its RTP sequence
   * numbers and timestamps so the stream goes on without a jump: the next
   * number, and the timestamp advanced by the time since the last packet.
   */
  continuation(): { seqnumOffset: number; timestampOffset: number } | undefined {
    const l = this.last;
    if (!l) return undefined;
    return { seqnumOffset: (l.seq + 1) & 0xffff, timestampOffset: (l.ts + Math.round(((performance.now() - l.at) * 90000) / 1000)) >>> 0 };
  }

  /** Asks the encoder for a keyframe now. */
  requestKeyframe(): void {
    this.pipeline.forceKeyUnit(DESKTOP_ELEMENTS.rtpSink);
  }

  /** Opens or closes the raw picture branch. */
  wantPictures(on: boolean): void {
    if (on === this.rawWanted || this.closed) return;
    this.rawWanted = on;
    this.pipeline.setProperty(DESKTOP_ELEMENTS.rawValve, "drop", !on);
  }

  /** Idles (IDLE_FPS while the screen is still) or goes back to the full frame rate, in place. */
  idle(on: boolean): void {
    if (on === this.idling || this.closed) return;
    this.idling = on;
    this.applyRate();
  }

  private applyRate(): void {
    this.pipeline.setProperty(DESKTOP_ELEMENTS.rate, "max-rate", this.idling ? Math.min(IDLE_FPS, this._fps) : this._fps);
  }

  /** Changes frame rate and bitrate, each clamped to the limits; returns what is in effect. */
  adjust(request: { fps?: number; bitrateKbps?: number }): { fps: number; bitrateKbps: number } {
    if (this.closed) return { fps: this._fps, bitrateKbps: this._bitrateKbps };
    if (request.fps !== undefined && Number.isFinite(request.fps)) {
      this._fps = Math.round(Math.min(this.limits.maxFps, Math.max(1, request.fps)));
      this.applyRate();
    }
    if (request.bitrateKbps !== undefined && Number.isFinite(request.bitrateKbps)) {
      this._bitrateKbps = Math.round(Math.min(this.limits.maxBitrateKbps, Math.max(100, request.bitrateKbps)));
      const { property, perKbps } = ENCODER_BITRATE[this.options.encoder];
      this.pipeline.setProperty(DESKTOP_ELEMENTS.encoder, property, this._bitrateKbps * perKbps);
    }
    return { fps: this._fps, bitrateKbps: this._bitrateKbps };
  }

  close(): void {
    this.pipeline.close();
    this.layers?.close();
  }
}
