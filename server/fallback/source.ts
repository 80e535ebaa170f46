import { JpegStripeEncoder } from "../../pipelines/jpeg-stripe-encoder.js";
import { X264StripeEncoder } from "../../pipelines/x264-stripe-encoder.js";
import type { Device } from "../devices/device.js";
import type { Logger } from "../log.js";
import type { PictureListener, PictureSource } from "./picture-source.js";
import type { FallbackCodec } from "../protocol/fallback.js";
import { extractStripe, StripeTracker, type I420Frame, type StripeRows } from "./stripes.js";
import type { FallbackSettings } from "./wire.js";

/** One stripe of a frame, encoded. */
export interface EncodedStripe {
  index: number;
  rows: StripeRows;
  /** JPEG bytes, or one Annex-B access unit. */
  data: Buffer;
  /** H.264: an IDR. */
  idr: boolean;
  /** JPEG: the high-quality re-send of a stripe that stopped changing. */
  paintOver: boolean;
}

/** What one decoded device frame produced. */
export interface EncodedFrame {
  width: number;
  height: number;
  stripeHeight: number;
  /** The stripe tiling of this size. */
  layout: readonly StripeRows[];
  /** The stripes that changed (or were painted over, or forced to an IDR). */
  stripes: EncodedStripe[];
  /** performance.now() when the decoded picture left the decoder. */
  decodedAt: number;
  /** performance.now() when the frame's last packet entered the relay, when known. */
  ingressAt: number | undefined;
}

/** Encoder settings shared by every viewer of a source. */
export interface SourceSettings {
  jpegQuality: number;
  paintOverQuality: number;
  paintOverFrames: number;
  h264Crf: number;
  h264BitrateKbps?: number;
  /** Rows per stripe; undefined = chosen from the frame size. */
  stripeHeight?: number;
  /** Per-sample difference below which a decoded stripe counts as unchanged. */
  tolerance: number;
  /** Decoded pictures larger than this are dropped, not striped (--max-frame-size). */
  maxPicture: { width: number; height: number };
}

export const SOURCE_DEFAULTS: SourceSettings = {
  jpegQuality: 40,
  paintOverQuality: 90,
  paintOverFrames: 15,
  h264Crf: 25,
  tolerance: 16,
  maxPicture: { width: 4096, height: 4096 },
};

/**
 * The encoder settings of a quality tier (Pacer): tier 0 is `base`; each
 * lower tier halves the JPEG quality (and softens the paint-over), adds 6 to
 * the x264 CRF or halves its bitrate.
 */
export function tierSettings(base: SourceSettings, tier: number): SourceSettings {
  if (tier <= 0) return base;
  const scale = 0.5 ** tier;
  const jpegQuality = Math.max(5, Math.round(base.jpegQuality * scale));
  return {
    ...base,
    jpegQuality,
    paintOverQuality: Math.max(jpegQuality, Math.round(base.paintOverQuality * (1 - tier / 4))),
    h264Crf: Math.min(51, base.h264Crf + 6 * tier),
    ...(base.h264BitrateKbps !== undefined ? { h264BitrateKbps: Math.max(50, Math.round(base.h264BitrateKbps * scale)) } : {}),
  };
}

/** Who hears about a source's frames. */
export interface FrameListener {
  onFrame(frame: EncodedFrame): void;
  onDeviceState(online: boolean): void;
}

/**
 * Each x264 stripe is a pipeline whose appsink pull holds a libuv thread, so
 * H.264 frames are cut into fewer, taller stripes (720p: 8 of 96 rows).
 */
const MAX_H264_STRIPES = 8;
/** A source with no picture for this long is quiet: an IDR asked of it is encoded from its last picture at once, ms. */
const QUIET_MS = 100;

/**
 * The fallback stream of one device in one codec, shared by all its
 * WebSocket viewers: each picture of the device's PictureSource (one decoder
 * per device, whatever codecs its viewers use) is cut into stripes, and only
 * changed stripes are encoded (JPEG with paint-over, or one x264 encoder per
 * stripe). The latest encoding of every JPEG stripe is kept, so a viewer
 * that needs a full picture gets one without re-encoding. Lives while it has
 * viewers. A device may have one per codec and quality tier: viewers on a
 * slow link share a lower tier's.
 */
export class FallbackSource implements PictureListener {
  private readonly listeners = new Set<FrameListener>();
  private readonly tracker: StripeTracker;
  private readonly jpeg = new JpegStripeEncoder();
  private h264: X264StripeEncoder[] = [];
  private h264Key = "";
  /** H.264 stripes whose next encoding must be an IDR. */
  private readonly idrWanted = new Set<number>();
  private readonly latest = new Map<number, EncodedStripe>();
  private latestLayout: { width: number; height: number; stripeHeight: number; layout: readonly StripeRows[] } | undefined;
  private pending: { frame: I420Frame; ingressAt: number | undefined } | undefined;
  private lastFrame: I420Frame | undefined;
  /** When the last picture came, performance.now(). */
  private lastPictureAt = -Infinity;
  /** Set while IDRs wait for the source to be quiet or for its next picture. */
  private quietTimer: NodeJS.Timeout | undefined;
  /**
   * Each stripe's input to its encoder, reused frame after frame: a frame's
   * encodings all finish (drain) before the next frame's stripes are cut,
   * and an encoder copies its input into GStreamer when it takes it.
   */
  private stripeInputs: Buffer[] = [];
  private busy = false;
  private _closed = false;

  /** @param tier the quality tier it encodes at (its settings are already the tier's) */
  constructor(
    readonly pictures: PictureSource,
    readonly codec: FallbackCodec,
    private settings: SourceSettings,
    private readonly log: Logger,
    readonly tier = 0,
  ) {
    this.tracker = new StripeTracker({
      stripeHeight: settings.stripeHeight,
      paintOverFrames: settings.paintOverFrames,
      maxStripes: codec === "h264" ? MAX_H264_STRIPES : undefined,
      tolerance: settings.tolerance,
    });
    pictures.add(this);
    // A device already streaming: start from its latest picture rather than wait for the next.
    const latest = pictures.latest;
    if (latest) this.onPicture(latest.picture, undefined);
  }

  /** The device whose stream this is. */
  get device(): Device {
    return this.pictures.device;
  }

  get closed(): boolean {
    return this._closed;
  }

  get listenerCount(): number {
    return this.listeners.size;
  }

  add(listener: FrameListener): void {
    this.listeners.add(listener);
  }

  remove(listener: FrameListener): void {
    this.listeners.delete(listener);
  }

  /** The latest encoding of every stripe (JPEG), for a viewer that needs the whole picture. */
  snapshot(): { width: number; height: number; stripeHeight: number; layout: readonly StripeRows[]; stripes: EncodedStripe[] } | undefined {
    if (!this.latestLayout) return undefined;
    return { ...this.latestLayout, stripes: [...this.latest.values()].sort((a, b) => a.index - b.index) };
  }

  /**
   * H.264: the next encoding of these stripes (all when omitted) is an IDR.
   * A source whose pictures keep coming carries it in its next one; a quiet
   * one (a still screen) encodes its last picture again, now or once it has
   * been quiet for QUIET_MS. Encoding it again while pictures come would be
   * an extra frame, and a viewer at its frame-rate cap skips the frame after
   * one, which costs every viewer another set of IDRs (traced: four sets
   * for one viewer joining).
   */
  requestIdr(indices?: Iterable<number>): void {
    if (this.codec !== "h264") return;
    const all = this.latestLayout?.layout.map((_, i) => i) ?? [];
    for (const i of indices ?? all) this.idrWanted.add(i);
    this.encodeLastIfQuiet();
  }

  /** IDRs are wanted: encodes the last picture again if no picture came for QUIET_MS and none is being encoded, else looks again later. */
  private encodeLastIfQuiet(): void {
    if (this._closed || this.idrWanted.size === 0 || !this.lastFrame) return;
    const quietFor = performance.now() - this.lastPictureAt;
    if (quietFor >= QUIET_MS && !this.busy && !this.pending) {
      this.pending = { frame: this.lastFrame, ingressAt: undefined };
      void this.drain();
      return;
    }
    this.quietTimer ??= setTimeout(
      () => {
        this.quietTimer = undefined;
        this.encodeLastIfQuiet();
      },
      quietFor >= QUIET_MS ? QUIET_MS : QUIET_MS - quietFor + 1,
    );
  }

  /** Applies a viewer's encoder settings to the source (shared by its viewers). */
  apply(s: FallbackSettings): void {
    const next = { ...this.settings };
    if (s.jpegQuality !== undefined) next.jpegQuality = s.jpegQuality;
    if (s.paintOverQuality !== undefined) next.paintOverQuality = s.paintOverQuality;
    if (s.h264Crf !== undefined) next.h264Crf = s.h264Crf;
    if (s.h264BitrateKbps !== undefined) next.h264BitrateKbps = s.h264BitrateKbps;
    this.settings = next;
  }

  /** Stops encoding and lets go of the pictures; idempotent. */
  close(): void {
    if (this._closed) return;
    this._closed = true;
    clearTimeout(this.quietTimer);
    this.pictures.remove(this);
    this.jpeg.close();
    for (const e of this.h264) e.close();
    this.listeners.clear();
  }

  onDeviceState(online: boolean): void {
    for (const l of this.listeners) l.onDeviceState(online);
  }

  /** Keeps only the newest picture while an earlier one is being encoded. */
  onPicture(picture: I420Frame, ingressAt: number | undefined): void {
    if (this._closed) return;
    this.lastFrame = picture;
    this.lastPictureAt = performance.now();
    this.pending = { frame: picture, ingressAt };
    void this.drain();
  }

  private async drain(): Promise<void> {
    if (this.busy) return;
    this.busy = true;
    try {
      while (this.pending && !this._closed) {
        const { frame, ingressAt } = this.pending;
        this.pending = undefined;
        this.lastFrame = frame;
        const out = await this.encode(frame, ingressAt);
        if (out && !this._closed) for (const l of this.listeners) l.onFrame(out);
      }
    } catch (err) {
      // A failed encoder is replaced on the next frame (JPEG pipelines by the encoder, x264 ones here).
      if (!this._closed) this.log.warn("fallback encoding failed", { err: String(err) });
    } finally {
      this.busy = false;
    }
  }

  private async encode(frame: I420Frame, ingressAt: number | undefined): Promise<EncodedFrame | undefined> {
    const decodedAt = performance.now();
    const update = this.tracker.update(frame);
    const layout = update.stripes;
    const stripeHeight = this.tracker.stripeHeight;
    const sized = this.latestLayout;
    if (!sized || sized.width !== frame.width || sized.height !== frame.height) {
      this.latest.clear();
      this.latestLayout = { width: frame.width, height: frame.height, stripeHeight, layout };
    }
    const jobs: Array<Promise<EncodedStripe>> = [];
    if (this.codec === "jpeg") {
      const { jpegQuality, paintOverQuality } = this.settings;
      const job = (index: number, paintOver: boolean) => {
        const rows = layout[index];
        const data = this.cut(frame, index, rows);
        return this.jpeg
          .encode({ data, width: frame.width, height: rows.height }, paintOver ? paintOverQuality : jpegQuality)
          .then((jpeg) => ({ index, rows, data: jpeg, idr: false, paintOver }));
      };
      for (const i of update.changed) jobs.push(job(i, false));
      for (const i of update.paintOver) jobs.push(job(i, true));
    } else {
      const encoders = this.h264Encoders(frame.width, layout);
      const indices = new Set([...update.changed, ...this.idrWanted]);
      if (update.refresh) for (let i = 0; i < layout.length; i++) this.idrWanted.add(i);
      for (const index of [...indices].sort((a, b) => a - b)) {
        const rows = layout[index];
        if (!rows) continue;
        const idr = this.idrWanted.delete(index);
        jobs.push(
          encoders[index].encode(this.cut(frame, index, rows), { idr }).then((r) => {
            // x264 may apply a forced keyframe a picture late: keep asking until one comes.
            if (idr && !r.idr) this.idrWanted.add(index);
            return { index, rows, data: r.annexB, idr: r.idr, paintOver: false };
          }),
        );
      }
    }
    if (jobs.length === 0) return { width: frame.width, height: frame.height, stripeHeight, layout, stripes: [], decodedAt, ingressAt };
    const stripes = await Promise.all(jobs);
    for (const s of stripes) this.latest.set(s.index, s);
    return { width: frame.width, height: frame.height, stripeHeight, layout, stripes, decodedAt, ingressAt };
  }

  /** Stripe `index` of `frame`, in that stripe's reused input buffer (stripeInputs). */
  private cut(frame: I420Frame, index: number, rows: StripeRows): Buffer {
    const into = this.stripeInputs[index];
    const data = extractStripe(frame, rows, into);
    if (!into || into.length < data.length) this.stripeInputs[index] = data;
    return data;
  }

  /** One x264 encoder per stripe of this layout; replaced when the size or settings change. */
  private h264Encoders(width: number, layout: readonly StripeRows[]): X264StripeEncoder[] {
    const { h264Crf, h264BitrateKbps } = this.settings;
    const key = `${width}:${layout.map((r) => r.height).join(",")}:${h264Crf}:${h264BitrateKbps ?? ""}`;
    if (key !== this.h264Key || this.h264.some((e) => e.closed)) {
      for (const e of this.h264) e.close();
      // A bitrate, when set, replaces constant quality.
      const crf = h264BitrateKbps === undefined ? h264Crf : undefined;
      this.h264 = layout.map((r) => new X264StripeEncoder({ width, height: r.height, crf, bitrateKbps: h264BitrateKbps }));
      this.h264Key = key;
      for (let i = 0; i < layout.length; i++) this.idrWanted.add(i);
    }
    return this.h264;
  }
}
