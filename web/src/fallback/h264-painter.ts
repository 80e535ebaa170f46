import { avcCodecString } from "./avc.js";
import { context2d, sizeCanvas, type StripeDone, type StripePainter } from "./painter.js";
import type { H264Stripe, Stripe } from "./stripe-wire.js";

/** Keyframe requests at most this often, ms. */
export const KEYFRAME_INTERVAL_MS = 500;

/**
 * One stripe's decoder: a WebCodecs VideoDecoder configured from the stripe's
 * first SPS (Annex-B in, so no description), fed key and delta chunks. Until
 * a key arrives (and after an error) deltas are dropped.
 */
class StripeDecoder {
  private decoder: VideoDecoder | undefined;
  private codec = "";
  private size = "";
  /** frameId of each chunk in the decoder, by chunk timestamp. */
  private readonly inFlight = new Map<number, number>();

  constructor(
    readonly y: number,
    private readonly draw: (frame: VideoFrame, y: number) => boolean,
    private readonly done: StripeDone,
    private readonly broken: () => void,
  ) {}

  /** False when the chunk was dropped (a delta with nothing to apply it to). */
  decode(s: H264Stripe, timestamp: number): boolean {
    if (s.idr) this.configure(s);
    const d = this.decoder;
    if (!d || d.state !== "configured") return false;
    this.inFlight.set(timestamp, s.frameId);
    try {
      d.decode(new EncodedVideoChunk({ type: s.idr ? "key" : "delta", timestamp, data: s.data }));
    } catch (err) {
      this.fail(err);
      return true; // fail() reported it
    }
    return true;
  }

  close(): void {
    const d = this.decoder;
    this.decoder = undefined;
    if (d && d.state !== "closed") d.close();
    this.flushInFlight();
  }

  private configure(s: H264Stripe): void {
    const codec = avcCodecString(s.data);
    const size = `${s.width}x${s.height}`;
    if (this.decoder?.state === "configured" && (!codec || codec === this.codec) && size === this.size) return;
    if (!codec) return; // an IDR without its SPS cannot start a decoder
    this.close();
    const d = new VideoDecoder({
      output: (frame) => {
        const frameId = this.inFlight.get(frame.timestamp);
        this.inFlight.delete(frame.timestamp);
        const painted = d === this.decoder && this.draw(frame, this.y);
        frame.close();
        if (frameId !== undefined) this.done(frameId, painted);
      },
      error: (err) => {
        if (d === this.decoder) this.fail(err);
      },
    });
    d.configure({ codec, codedWidth: s.width, codedHeight: s.height, optimizeForLatency: true });
    this.decoder = d;
    this.codec = codec;
    this.size = size;
  }

  private fail(err: unknown): void {
    console.debug(`tessera: H.264 stripe at y=${this.y} failed`, err);
    this.close();
    this.broken();
  }

  private flushInFlight(): void {
    for (const frameId of this.inFlight.values()) this.done(frameId, false);
    this.inFlight.clear();
  }
}

/**
 * H.264 stripes: one decoder per stripe row (keyed by y), each frame drawn
 * at (0, y) and closed. A delta for a stripe with no decoder yet, or a
 * decode error, asks the server for a keyframe (at most every 500 ms).
 */
export class H264Painter implements StripePainter {
  private readonly ctx: CanvasRenderingContext2D;
  private readonly decoders = new Map<number, StripeDecoder>();
  private timestamp = 0;
  private lastKeyframeRequest = -Infinity;
  private closed = false;

  constructor(
    canvas: HTMLCanvasElement,
    private readonly done: StripeDone,
    private readonly requestKeyframe: () => void,
  ) {
    this.ctx = context2d(canvas);
  }

  resize(width: number, height: number): void {
    this.closeDecoders();
    sizeCanvas(this.ctx, width, height);
  }

  paint(stripe: Stripe): void {
    if (this.closed || stripe.kind !== "h264") return this.done(stripe.frameId, false);
    let decoder = this.decoders.get(stripe.y);
    if (!decoder) {
      decoder = new StripeDecoder(
        stripe.y,
        (frame, y) => this.draw(frame, y),
        this.done,
        () => this.keyframe(),
      );
      this.decoders.set(stripe.y, decoder);
    }
    if (!decoder.decode(stripe, this.timestamp++)) {
      this.done(stripe.frameId, false);
      this.keyframe();
    }
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.closeDecoders();
  }

  private draw(frame: VideoFrame, y: number): boolean {
    if (this.closed) return false;
    this.ctx.drawImage(frame, 0, y, frame.displayWidth, frame.displayHeight);
    return true;
  }

  private keyframe(): void {
    const now = performance.now();
    if (this.closed || now - this.lastKeyframeRequest < KEYFRAME_INTERVAL_MS) return;
    this.lastKeyframeRequest = now;
    this.requestKeyframe();
  }

  private closeDecoders(): void {
    for (const d of this.decoders.values()) d.close();
    this.decoders.clear();
  }
}

/** True when this browser can decode the fallback's H.264 (WebCodecs, Constrained Baseline 3.1). */
export async function h264Supported(): Promise<boolean> {
  if (typeof VideoDecoder === "undefined") return false;
  try {
    return (await VideoDecoder.isConfigSupported({ codec: "avc1.42e01f" })).supported === true;
  } catch {
    return false;
  }
}
