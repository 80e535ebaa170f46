import type { Stripe } from "./stripe-wire.js";

/** Draws a fallback stream's stripes onto a canvas. */
export interface StripePainter {
  /** A `stream` message: the canvas becomes `width`×`height`, and everything decoded so far is forgotten. */
  resize(width: number, height: number): void;
  /** Decodes and draws one stripe; reports it finished (painted or dropped) through the painter's `done`. */
  paint(stripe: Stripe): void;
  /** Stops drawing and frees decoders; idempotent. */
  close(): void;
}

/** Called once per stripe handed to `paint`: drawn, or dropped (stale, undecodable, after close). */
export type StripeDone = (frameId: number, painted: boolean) => void;

/** The canvas's 2D context, opaque (the stream has no alpha). */
export function context2d(canvas: HTMLCanvasElement): CanvasRenderingContext2D {
  const ctx = canvas.getContext("2d", { alpha: false });
  if (!ctx) throw new Error("no 2D context for the fallback canvas");
  return ctx;
}

/** Sizes the canvas to the stream and blacks it out (setting the size clears it). */
export function sizeCanvas(ctx: CanvasRenderingContext2D, width: number, height: number): void {
  ctx.canvas.width = width;
  ctx.canvas.height = height;
  ctx.fillStyle = "#000";
  ctx.fillRect(0, 0, width, height);
}
