/**
 * The stage's two picture elements: the <video> for WebRTC and the <canvas>
 * the WebSocket fallback paints. One is shown at a time; input is captured on
 * whichever it is, mapped to stream pixels by its intrinsic size.
 */
export class Picture {
  private useCanvas = false;

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

  /** The stream's size in pixels; 0×0 while unknown. */
  get size(): { width: number; height: number } {
    return this.useCanvas ? { width: this.canvas.width, height: this.canvas.height } : { width: this.video.videoWidth, height: this.video.videoHeight };
  }

  /** Shows the canvas (true) or the video (false). */
  showCanvas(on: boolean): void {
    this.useCanvas = on;
    this.canvas.hidden = !on;
    this.video.hidden = on;
  }
}
