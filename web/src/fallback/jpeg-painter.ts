import { context2d, sizeCanvas, type StripeDone, type StripePainter } from "./painter.js";
import type { Stripe } from "./stripe-wire.js";

/**
 * JPEG stripes: each is decoded off the main thread with createImageBitmap
 * and drawn at (0, y). Decodes finish out of order, so each row keeps the
 * arrival number of what it shows, and an older stripe never overwrites a
 * newer one.
 */
export class JpegPainter implements StripePainter {
  private readonly ctx: CanvasRenderingContext2D;
  /** Arrival number of the stripe drawn at each y. */
  private readonly shown = new Map<number, number>();
  private seq = 0;
  /** Bumped by resize and close: decodes begun before are dropped. */
  private generation = 0;
  private closed = false;

  constructor(
    canvas: HTMLCanvasElement,
    private readonly done: StripeDone,
  ) {
    this.ctx = context2d(canvas);
  }

  resize(width: number, height: number): void {
    this.generation++;
    this.shown.clear();
    sizeCanvas(this.ctx, width, height);
  }

  paint(stripe: Stripe): void {
    if (this.closed || stripe.kind !== "jpeg") return this.done(stripe.frameId, false);
    const seq = ++this.seq;
    const generation = this.generation;
    const { frameId, y } = stripe;
    createImageBitmap(new Blob([stripe.data as Uint8Array<ArrayBuffer>], { type: "image/jpeg" })).then(
      (bitmap) => {
        const stale = this.closed || generation !== this.generation || (this.shown.get(y) ?? 0) > seq;
        if (!stale) {
          this.ctx.drawImage(bitmap, 0, y);
          this.shown.set(y, seq);
        }
        bitmap.close();
        this.done(frameId, !stale);
      },
      (err: unknown) => {
        console.debug("tessera: a JPEG stripe did not decode", err);
        this.done(frameId, false);
      },
    );
  }

  close(): void {
    this.closed = true;
    this.generation++;
  }
}
