import { Backoff, PIPELINE_RESTART } from "../backoff.js";
import type { DecodableVideoCodec } from "../../pipelines/descriptions.js";
import { JpegDecoder, RtpDecoder } from "../../pipelines/picture-decoders.js";
import type { Device } from "../devices/device.js";
import type { PushedFrames } from "../frames/frame-device.js";
import type { StoredFrame } from "../frames/stored-frame.js";
import type { Logger } from "../log.js";
import { DownTrack } from "../relay/down-track.js";
import { PictureGuard } from "../relay/picture-guard.js";
import { writeRtp } from "../relay/rtp.js";
import type { UpTrack } from "../relay/up-track.js";
import type { I420Frame } from "./stripes.js";

/** Who hears about a device's decoded pictures. */
export interface PictureListener {
  /**
   * A decoded picture; `ingressAt` is performance.now() when its last packet
   * entered the relay, when known. Its buffer is the decoder's and is written
   * again a few pictures later (PICTURE_BUFFERS): keep only the newest, copy
   * any other.
   */
  onPicture(picture: I420Frame, ingressAt: number | undefined): void;
  onDeviceState(online: boolean): void;
}

const RTP_PAYLOAD_TYPE = 96;
/** The decoder for a device's video, by its lower-case MIME type. */
const DECODABLE: Readonly<Record<string, DecodableVideoCodec>> = { "video/vp8": "vp8", "video/vp9": "vp9", "video/h264": "h264" };
/** Frame-end times remembered for latency; more means the decoder dropped some. */
const MAX_FRAMES_IN_DECODER = 16;
const SSRC = 0x7e55e4a;
/** How often the decoder looks for a larger simulcast layer that flows, or away from one gone quiet, ms. */
const LAYER_CHECK_MS = 1000;
/** Checks in a row a larger layer must be seen flowing before the decoder moves up to it. */
const UP_AFTER_CHECKS = 3;

/**
 * The decoded pictures of one device, shared by everything that needs them
 * (fallback stripes in either codec, frame.jpg, pulls, snapshots): the
 * device's video RTP through one GStreamer decoder, or, for a device that
 * pushes JPEGs, its frames through jpegdec. Keeps the latest picture.
 * Follows the device across reconnects and codec changes; lives while the
 * hub holds it for someone.
 */
export class PictureSource {
  private readonly listeners = new Set<PictureListener>();
  /** The device's video into the decoder, in the device's codec (made again when that changes). */
  private down: DownTrack;
  /** Holds back pictures whose bitstream announces more than maxPicture, before the decoder allocates for them. */
  private readonly guard: PictureGuard;
  private decoder: RtpDecoder | JpegDecoder | undefined;
  /** What the decoder takes: the RTP codec, or "jpeg" for pushed frames. */
  private decoderInput: DecodableVideoCodec | "jpeg" | undefined;
  private unsubscribeFeed: (() => void) | undefined;
  /** Relay arrival times of frame-ending packets not yet decoded, oldest first. */
  private readonly frameEnds: number[] = [];
  private lastPicture: I420Frame | undefined;
  private decoded = 0;
  /** An oversized picture was reported once; a device sending them is not logged per frame. */
  private oversizeLogged = false;
  private _closed = false;
  /** The waits before restarts of a failed decoder: doubling while it fails before a picture. */
  private readonly restarts = new Backoff(PIPELINE_RESTART.minMs, PIPELINE_RESTART.maxMs);
  private restartTimer: NodeJS.Timeout | undefined;
  private readonly layerTimer: NodeJS.Timeout;
  /** A larger layer seen flowing at the last checks, and at how many in a row. */
  private climb: { layer: UpTrack; checks: number } | undefined;
  private readonly onOnline = (tracks: readonly UpTrack[]) => this.attach(tracks);
  private readonly onOffline = () => this.emitState(false);

  constructor(
    readonly device: Device,
    /** Decoded pictures larger than this are dropped (--max-frame-size). */
    private readonly maxPicture: { width: number; height: number },
    private readonly log: Logger,
    /** The device's pushed JPEGs while it is a frame device (looked up on every (re)connect). */
    private readonly pushedFrames: () => PushedFrames | undefined = () => undefined,
    /** Told each time a failed decoder is made again. */
    private readonly restarted: () => void = () => {},
  ) {
    this.guard = new PictureGuard(maxPicture, (size) =>
      this.log.warn("fallback: the device announces a picture larger than --max-frame-size; not decoded", { device: device.id, ...size }),
    );
    this.down = this.newDown({ kind: "video", mimeType: "video/vp8", clockRate: 90000 });
    this.layerTimer = setInterval(() => this.followLayers(), LAYER_CHECK_MS);
    this.layerTimer.unref();
    device.on("online", this.onOnline);
    device.on("offline", this.onOffline);
    if (device.tracks.some((t) => t.kind === "video")) this.attach(device.tracks);
  }

  get closed(): boolean {
    return this._closed;
  }

  add(listener: PictureListener): void {
    this.listeners.add(listener);
  }

  remove(listener: PictureListener): void {
    this.listeners.delete(listener);
  }

  /** The latest decoded picture and its number (counting from 1), if one came yet. */
  get latest(): { picture: I420Frame; number: number } | undefined {
    return this.lastPicture ? { picture: this.lastPicture, number: this.decoded } : undefined;
  }

  /** Stops decoding; idempotent. */
  close(): void {
    if (this._closed) return;
    this._closed = true;
    clearTimeout(this.restartTimer);
    clearInterval(this.layerTimer);
    this.device.off("online", this.onOnline);
    this.device.off("offline", this.onOffline);
    this.down.close();
    this.unsubscribeFeed?.();
    this.decoder?.close();
    this.listeners.clear();
  }

  private attach(tracks: readonly UpTrack[]): void {
    const video = tracks.find((t) => t.kind === "video");
    if (!video || this._closed) return;
    this.unsubscribeFeed?.();
    this.unsubscribeFeed = undefined;
    const raw = this.device.rawPictures;
    if (raw) {
      // A captured screen's pictures come as they are: no decoder runs.
      this.down.clearSource();
      this.decoder?.close();
      this.decoder = undefined;
      this.decoderInput = undefined;
      this.unsubscribeFeed = raw.subscribe((picture) => this.onPicture(picture, performance.now()));
      this.emitState(true);
      return;
    }
    const pushed = this.pushedFrames();
    if (pushed) {
      // Pushed JPEGs are decoded as they are: no VP8 encoder runs for these pictures.
      this.down.clearSource();
      this.useDecoder("jpeg");
      const feed = (frame: StoredFrame) => {
        if (this.frameEnds.push(performance.now()) > MAX_FRAMES_IN_DECODER) this.frameEnds.shift();
        this.decoder?.push(frame.jpeg);
      };
      this.unsubscribeFeed = pushed.subscribe(feed);
      // A device that pushes every few seconds shows now, not at its next push.
      if (pushed.latest) feed(pushed.latest);
      this.emitState(true);
      return;
    }
    const codec = DECODABLE[video.codec.mimeType];
    if (!codec) {
      this.log.warn("fallback: the device's video codec cannot be decoded", { codec: video.codec.mimeType });
      return;
    }
    this.useDecoder(codec);
    if (this.down.codec.mimeType !== video.codec.mimeType) {
      // The descriptor rewriting that keeps the decoder's input continuous is the codec's own.
      this.down.close();
      this.down = this.newDown(video.codec);
    }
    this.down.setSource(this.flowingLayer(video) ?? video);
    this.emitState(true);
  }

  private newDown(codec: UpTrack["codec"]): DownTrack {
    return new DownTrack(codec, {
      send: (p, seq, ts) => {
        if (!this.guard.admit(codec.mimeType, p)) return;
        if (p.marker && this.frameEnds.push(p.receivedAt) > MAX_FRAMES_IN_DECODER) this.frameEnds.shift();
        this.decoder?.push(writeRtp(RTP_PAYLOAD_TYPE, seq, ts, SSRC, p.marker, p.payload));
      },
    });
  }

  /**
   * The largest simulcast layer of `track`'s picture that sends now and
   * whose pictures (as its keyframes announce them) are within
   * --max-frame-size, or undefined when none does (or it has no layers).
   */
  private flowingLayer(track: UpTrack): UpTrack | undefined {
    const now = performance.now();
    const layers = track.layers ?? [];
    for (let i = layers.length - 1; i >= 0; i--) {
      const l = layers[i];
      const size = l.frameSize;
      const tooLarge = size !== undefined && (size.width > this.maxPicture.width || size.height > this.maxPicture.height);
      if (!l.closed && !tooLarge && l.bitrate(now) > 0) return l;
    }
    return undefined;
  }

  /**
   * A device drops its top simulcast layers when its encoder or its link
   * cannot keep up, and takes them up again later: the decoder moves to the
   * largest layer that flows (at that layer's keyframe, asked for), so the
   * WebSocket stream never waits on a layer that sends nothing. Away from a
   * layer gone quiet at once; up to a larger one only once it has flowed
   * at UP_AFTER_CHECKS checks in a row, so a layer that comes and goes
   * does not cost the device a keyframe each time.
   */
  private followLayers(): void {
    const current = this.down.pendingTrack ?? this.down.upTrack;
    const layers = current?.layers;
    if (!current || !layers || this.decoderInput === undefined || this.decoderInput === "jpeg") return;
    const best = this.flowingLayer(current);
    if (!best || best === current) {
      this.climb = undefined;
      return;
    }
    if (!current.closed && current.bitrate() > 0 && layers.indexOf(best) > layers.indexOf(current)) {
      this.climb = { layer: best, checks: this.climb?.layer === best ? this.climb.checks + 1 : 1 };
      if (this.climb.checks < UP_AFTER_CHECKS) return;
    }
    this.climb = undefined;
    this.down.switchLayer(best);
  }

  private useDecoder(input: DecodableVideoCodec | "jpeg"): void {
    if (input === this.decoderInput && this.decoder && !this.decoder.closed) return;
    this.decoder?.close();
    this.decoderInput = input;
    const onPicture = (picture: I420Frame) => this.onPicture(picture, this.frameEnds.shift());
    const onError = (message: string) => {
      this.log.warn("fallback decoder failed; making it again", { device: this.device.id, message, inMs: this.restarts.peek() });
      this.scheduleRestart(input);
    };
    this.decoder = input === "jpeg" ? new JpegDecoder(onPicture, { onError }) : new RtpDecoder(input, onPicture, { payloadType: RTP_PAYLOAD_TYPE, onError });
  }

  /**
   * Makes a failed decoder again after the backoff (a corrupt frame, a
   * bitstream the decoder gave up on). An RTP decoder starts at the next
   * keyframe, which is asked for; a JPEG one with the next pushed frame (the
   * latest may be the one that failed).
   */
  private scheduleRestart(input: DecodableVideoCodec | "jpeg"): void {
    if (this._closed || this.restartTimer) return;
    this.restartTimer = setTimeout(() => {
      this.restartTimer = undefined;
      if (this._closed || this.decoderInput !== input) return;
      this.restarted();
      this.useDecoder(input);
      const up = this.down.upTrack;
      if (input !== "jpeg" && up) {
        this.down.clearSource();
        this.down.setSource(up);
      }
    }, this.restarts.take());
  }

  private emitState(online: boolean): void {
    for (const l of this.listeners) l.onDeviceState(online);
  }

  private onPicture(picture: I420Frame, ingressAt: number | undefined): void {
    if (this._closed) return;
    if (picture.width > this.maxPicture.width || picture.height > this.maxPicture.height) {
      if (!this.oversizeLogged)
        this.log.warn("fallback: a decoded picture is larger than --max-frame-size; dropped", { width: picture.width, height: picture.height });
      this.oversizeLogged = true;
      return;
    }
    this.decoded++;
    this.restarts.reset();
    this.lastPicture = picture;
    for (const l of this.listeners) l.onPicture(picture, ingressAt);
  }
}
