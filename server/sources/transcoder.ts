import { TRANSCODE_ELEMENTS as E, transcodeToVp8Description } from "../../pipelines/descriptions.js";
import { GstPipeline } from "../../pipelines/pipeline.js";
import { Backoff, PIPELINE_RESTART } from "../backoff.js";
import type { Device } from "../devices/device.js";
import { deviceKey, Held } from "../held.js";
import { NO_LEASE, type Lease } from "../limits.js";
import type { Logger } from "../log.js";
import { DownTrack } from "../relay/down-track.js";
import { PictureGuard } from "../relay/picture-guard.js";
import type { RelayObserver } from "../relay/observer.js";
import { parseRtp, writeRtp } from "../relay/rtp.js";
import { UpTrack } from "../relay/up-track.js";

const RTP_PAYLOAD_TYPE = 96;
const SSRC = 0x7c0de;
const VP8 = { kind: "video", mimeType: "video/vp8", clockRate: 90000 } as const;
/** The transcoded stream's bitrate, kbit/s: about what a 720p VP8 picture needs. */
export const TRANSCODE_BITRATE_KBPS = 1500;

/** The video codecs a transcoder takes in: what devices publish and GStreamer decodes here. */
export const TRANSCODABLE = new Set(["h264"]);

/**
 * One device's video as VP8, for WebRTC viewers whose browser cannot decode
 * the device's own codec (Firefox has no H.264 in WebRTC here; every
 * browser decodes VP8): the device's RTP through a GStreamer decode → vp8enc
 * → rtpvp8pay pipeline into an UpTrack that viewers subscribe to like any
 * other. Follows the device across reconnects (its DownTrack keeps the
 * decoder's input continuous); the pipeline starts with the first device
 * track it can take and is rebuilt only after an error: after 250 ms, the
 * wait doubling (up to 30 s) while it fails before sending anything.
 */
export class Transcoder {
  /** The VP8 track viewers subscribe to; lives as long as the transcoder. */
  readonly video: UpTrack;
  private readonly down: DownTrack;
  private pipeline: GstPipeline | undefined;
  /** The last sequence number and timestamp sent, so a rebuilt pipeline continues them. */
  private last: { seq: number; ts: number } | undefined;
  private _closed = false;
  private readonly restarts = new Backoff(PIPELINE_RESTART.minMs, PIPELINE_RESTART.maxMs);
  private rebuildTimer: NodeJS.Timeout | undefined;
  private readonly onOnline = (tracks: readonly UpTrack[]) => this.attach(tracks);

  constructor(
    readonly device: Device,
    private readonly bitrateKbps: number,
    observer: RelayObserver,
    private readonly log: Logger,
    /** Pictures whose SPS announces more are not decoded (--max-frame-size). */
    maxPicture: { readonly width: number; readonly height: number },
    /** Called each time a failed pipeline is made again. */
    private readonly onRestart: () => void = () => undefined,
  ) {
    this.video = new UpTrack({
      id: `transcode-${device.id}`,
      codec: VP8,
      requestKeyframe: () => this.pipeline?.forceKeyUnit(E.sink),
      keyframeBy: "encoder",
      observer,
    });
    const guard = new PictureGuard(maxPicture, (size) =>
      log.warn("transcoder: the device announces a picture larger than --max-frame-size; not decoded", { device: device.id, ...size }),
    );
    this.down = new DownTrack(VP8, {
      send: (p, seq, ts) => {
        if (guard.admit("video/h264", p)) this.pipeline?.pushTo(E.src, writeRtp(RTP_PAYLOAD_TYPE, seq, ts, SSRC, p.marker, p.payload));
      },
    });
    device.on("online", this.onOnline);
    if (device.online) this.attach(device.tracks);
  }

  get closed(): boolean {
    return this._closed;
  }

  /** Stops the pipeline and ends the VP8 track; idempotent. */
  close(): void {
    if (this._closed) return;
    this._closed = true;
    this.device.off("online", this.onOnline);
    clearTimeout(this.rebuildTimer);
    this.down.close();
    this.pipeline?.close();
    this.pipeline = undefined;
    this.video.close();
  }

  private attach(tracks: readonly UpTrack[]): void {
    const video = tracks.find((t) => t.kind === "video" && TRANSCODABLE.has(t.codec.mimeType.split("/")[1] ?? ""));
    if (!video || this._closed) return;
    this.pipeline ??= this.startPipeline();
    this.down.setSource(video);
  }

  private startPipeline(): GstPipeline {
    // Reused: a watch and unwatch each would otherwise make a pipeline that is never freed (pipeline.ts).
    const p = new GstPipeline(transcodeToVp8Description({ from: "h264", bitrateKbps: this.bitrateKbps, payloadType: RTP_PAYLOAD_TYPE }), {
      kind: "transcode",
      reuse: true,
      onError: (message) => {
        if (this.pipeline !== p) return;
        const inMs = this.restarts.take();
        this.log.warn("transcoder failed; making it again", { device: this.device.id, message, inMs });
        this.pipeline = undefined;
        p.close();
        clearTimeout(this.rebuildTimer);
        this.rebuildTimer = setTimeout(() => {
          this.rebuildTimer = undefined;
          if (this._closed || !this.device.online) return;
          this.onRestart();
          this.attach(this.device.tracks);
        }, inMs).unref();
      },
    });
    p.numberFrom(E.pay, this.last && { seqnumOffset: this.last.seq + 1, timestampOffset: this.last.ts + 3000 });
    p.start();
    p.pullFrom(E.sink, (buf) => {
      const rtp = parseRtp(buf);
      if (!rtp || this.pipeline !== p) return;
      this.restarts.reset();
      this.last = { seq: rtp.sequenceNumber, ts: rtp.timestamp };
      this.video.push(rtp.sequenceNumber, rtp.timestamp, rtp.marker, rtp.payload);
    });
    this.log.info("transcoder started", { device: this.device.id, to: "vp8" });
    return p;
  }
}

/** The running transcoders: one per device, started by its first viewer that needs one and stopped after the last. */
export class Transcoders {
  private readonly held = new Held<string, Transcoder>();

  constructor(
    private readonly bitrateKbps: number,
    private readonly observer: RelayObserver,
    private readonly log: Logger,
    private readonly maxPicture: { readonly width: number; readonly height: number },
    /** Counts a transcoder against the pipeline limits (throws when refused). */
    private readonly lease: (device: Device) => Lease = () => NO_LEASE,
    /** Called each time a failed transcoder pipeline is made again. */
    private readonly onRestart: () => void = () => undefined,
  ) {}

  /** The device's transcoder, started by its first viewer; throws a `limit` error when no pipeline may start. */
  acquire(device: Device): Transcoder {
    return this.held.acquire(
      deviceKey(device),
      () => new Transcoder(device, this.bitrateKbps, this.observer, this.log, this.maxPicture, this.onRestart),
      () => this.lease(device),
    );
  }

  release(transcoder: Transcoder): void {
    if (this.held.release(deviceKey(transcoder.device), transcoder)) this.log.info("transcoder stopped", { device: transcoder.device.id });
  }

  close(): void {
    this.held.close();
  }
}
