/** The frame rate of a capture whose screen has not changed for a while: enough for a clock to tick. */
export const IDLE_FPS = 2;
/** How long without a change before a capture idles, ms. */
export const IDLE_AFTER_MS = 1000;

/**
 * Idles a capture while its screen does not change: a still desktop still
 * hands over every frame, and each would be converted and encoded. The
 * desktop's DAMAGE events (and a viewer's keyframe request) wake it at once;
 * `IDLE_AFTER_MS` without either puts it back to idle.
 */
export class IdleRate {
  private timer: NodeJS.Timeout | undefined;
  private idle = false;
  private closed = false;

  constructor(
    private readonly setIdle: (idle: boolean) => void,
    private readonly afterMs = IDLE_AFTER_MS,
  ) {
    this.arm();
  }

  /** The screen changed, or a frame is wanted now: full rate until the screen has been still for a while. */
  wake(): void {
    if (this.closed) return;
    if (this.idle) {
      this.idle = false;
      this.setIdle(false);
    }
    this.arm();
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.timer);
  }

  private arm(): void {
    if (this.timer) return void this.timer.refresh();
    this.timer = setTimeout(() => {
      if (this.closed) return;
      this.idle = true;
      this.setIdle(true);
    }, this.afterMs);
    this.timer.unref();
  }
}
