import { i420Caps, jpegStripeDescription, STRIPE_ENCODER_ELEMENTS as E } from "./descriptions.js";
import { type I420Picture, toGstI420 } from "./i420.js";
import { SerialEncoder } from "./serial-encoder.js";

/**
 * Encodes I420 stripes to JPEG. Stripes of one size share a pipeline (a frame
 * needs two: full stripes and the shorter last one); pipelines of another
 * width are closed when the width changes, and taken up again for the new
 * one (the size is set on a pipeline before it starts). Quality is set per stripe on the
 * running jpegenc, which reads it per picture: one pipeline serves normal and
 * paint-over quality.
 */
export class JpegStripeEncoder {
  private readonly bySize = new Map<string, { encoder: SerialEncoder; quality: number }>();
  private width = 0;
  private _closed = false;

  get closed(): boolean {
    return this._closed;
  }

  /** One JPEG (FF D8 … FF D9) of `stripe` at `quality` 1..100. */
  encode(stripe: I420Picture, quality: number): Promise<Buffer> {
    if (this._closed) return Promise.reject(new Error("encoder is closed"));
    if (!Number.isInteger(quality) || quality < 1 || quality > 100) {
      return Promise.reject(new RangeError(`JPEG quality must be an integer in 1..100, got ${quality}`));
    }
    const { width, height } = stripe;
    if (stripe.data.length !== (width * height * 3) / 2) {
      return Promise.reject(new RangeError(`an I420 ${width}x${height} stripe has ${(width * height * 3) / 2} bytes, got ${stripe.data.length}`));
    }
    if (width !== this.width) {
      this.closeEncoders();
      this.width = width;
    }
    const key = `${width}x${height}`;
    let entry = this.bySize.get(key);
    if (!entry || entry.encoder.closed) {
      const encoder = new SerialEncoder(jpegStripeDescription(), E.src, E.sink, "jpeg_encode", (p) => {
        p.setProperty(E.src, "caps", i420Caps(width, height, 0));
        p.setProperty(E.encoder, "quality", quality);
      });
      entry = { encoder, quality };
      this.bySize.set(key, entry);
    }
    const e = entry;
    return e.encoder.encode(toGstI420(stripe), () => {
      if (e.quality === quality) return;
      e.encoder.gst.setProperty(E.encoder, "quality", quality);
      e.quality = quality;
    });
  }

  /** Stops every pipeline; pending stripes are rejected. Idempotent. */
  close(): void {
    this._closed = true;
    this.closeEncoders();
  }

  private closeEncoders(): void {
    for (const { encoder } of this.bySize.values()) encoder.close();
    this.bySize.clear();
  }
}
