import { i420Caps, STRIPE_ENCODER_ELEMENTS as E, x264RateProperty, x264StripeDescription, type X264StripeOptions } from "./descriptions.js";
import { toGstI420 } from "./i420.js";
import { SerialEncoder } from "./serial-encoder.js";

/** One encoded stripe picture. */
export interface H264StripePicture {
  /** Annex-B access unit (start codes, NAL units). */
  annexB: Buffer;
  /** It holds an IDR slice (NAL type 5): a decoder can start here. */
  idr: boolean;
}

/** NAL unit types of an Annex-B buffer, in order. */
export function annexBNalTypes(buf: Buffer): number[] {
  const types: number[] = [];
  for (let i = 0; i + 3 < buf.length; i++) {
    if (buf[i] === 0 && buf[i + 1] === 0 && buf[i + 2] === 1) {
      types.push(buf[i + 3] & 0x1f);
      i += 3;
    }
  }
  return types;
}

/** Defaults: 30 fps, CRF 25 (when no bitrate is given), a keyframe every 10 s unless asked. */
export const X264_STRIPE_DEFAULTS = { fps: 30, crf: 25, keyframeInterval: 300 } as const;

/**
 * The H.264 encoder of one stripe: a stream of its own, so each stripe keeps
 * its references between pictures. Its first picture is an IDR with SPS and
 * PPS; later ones are IDRs when asked. Settings are fixed for its life
 * (x264enc's pass and quantizer are not changeable while playing): a new
 * setting means a new encoder.
 *
 * A forced keyframe is a GstForceKeyUnit event sent upstream from the
 * appsink just before the picture is pushed; x264enc applies it to that very
 * picture (measured: every requested picture came out IDR, none other), which
 * is cheaper than restarting the pipeline.
 */
export class X264StripeEncoder {
  private readonly encoder: SerialEncoder;
  private readonly pictureBytes: number;

  constructor(readonly options: Partial<X264StripeOptions> & { width: number; height: number }) {
    const d = X264_STRIPE_DEFAULTS;
    const { width, height, ...settings } = options;
    const o: X264StripeOptions = {
      ...settings,
      fps: options.fps ?? d.fps,
      keyframeInterval: options.keyframeInterval ?? d.keyframeInterval,
      // A bitrate alone means bitrate mode; otherwise constant quality.
      crf: options.crf ?? (options.bitrateKbps === undefined ? d.crf : undefined),
    };
    this.pictureBytes = (width * height * 3) / 2;
    // The size (the appsrc's caps) and the rate are set before start: a stopped encoder of another size or rate is taken up again.
    const [rateProperty, rate] = x264RateProperty(o);
    this.encoder = new SerialEncoder(x264StripeDescription(o), E.src, E.sink, "h264_encode", (p) => {
      p.setProperty(E.src, "caps", i420Caps(width, height, o.fps));
      p.setProperty(E.encoder, rateProperty, rate);
    });
  }

  get closed(): boolean {
    return this.encoder.closed;
  }

  /** Encodes the stripe's next picture (packed I420, this encoder's size). */
  async encode(stripe: Buffer, opts: { idr?: boolean } = {}): Promise<H264StripePicture> {
    const { width, height } = this.options;
    if (stripe.length !== this.pictureBytes) {
      throw new RangeError(`an I420 ${width}x${height} stripe has ${this.pictureBytes} bytes, got ${stripe.length}`);
    }
    const before = opts.idr ? () => this.encoder.gst.forceKeyUnit(E.sink) : undefined;
    const annexB = await this.encoder.encode(toGstI420({ data: stripe, width, height }), before);
    return { annexB, idr: annexBNalTypes(annexB).includes(5) };
  }

  /** Stops the pipeline; pending pictures are rejected. Idempotent. */
  close(): void {
    this.encoder.close();
  }
}
