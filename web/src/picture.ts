/**
 * The stage's two picture elements: the <video> for WebRTC and the <canvas>
 * the WebSocket fallback paints. One is shown at a time; input is captured on
 * whichever it is, mapped to the device's stream pixels: the size the
 * device reported (its `resolution`), else the element's intrinsic size.
 * The two differ when a simulcast viewer receives a smaller layer.
 */
export class Picture {
  private useCanvas = false;
  private sourceSize: { width: number; height: number } | undefined;

  constructor(
    readonly video: HTMLVideoElement,
    readonly canvas: HTMLCanvasElement,
  ) {
    this.canvas.hidden = true;
  }

  /** The element shown now. */
  get element(): HTMLVideoElement | HTMLCanvasElement {
    return this.useCanvas ? this.canvas : this.video;
  }

  /** Both elements (listeners go on both). */
  get elements(): readonly (HTMLVideoElement | HTMLCanvasElement)[] {
    return [this.video, this.canvas];
  }

  /** The device's stream size in pixels (what coordinates refer to); 0×0 while unknown. */
  get size(): { width: number; height: number } {
    if (this.sourceSize) return this.sourceSize;
    return this.useCanvas ? { width: this.canvas.width, height: this.canvas.height } : { width: this.video.videoWidth, height: this.video.videoHeight };
  }

  /** The size the device says its stream has (undefined: not said, or another device). */
  setSourceSize(size: { width: number; height: number } | undefined): void {
    this.sourceSize = size;
  }

  /** Shows the canvas (true) or the video (false). */
  showCanvas(on: boolean): void {
    this.useCanvas = on;
    this.canvas.hidden = !on;
    this.video.hidden = on;
  }
}
