import { resizeLine } from "./input-lines.js";

/** How long the player's size must hold still before the device is asked to follow it, ms. */
export const RESIZE_SETTLE_MS = 500;
/** Smallest size asked for; a collapsed player is not a screen size. */
const MIN_SIDE = 64;

/** The stream size a player box asks for: its CSS pixels, even (encoders want even sizes), at least 64. */
export function wantedSize(cssWidth: number, cssHeight: number): { width: number; height: number } | undefined {
  const even = (n: number) => Math.floor(n / 2) * 2;
  const width = even(cssWidth);
  const height = even(cssHeight);
  return width >= MIN_SIDE && height >= MIN_SIDE ? { width, height } : undefined;
}

/**
 * While this viewer holds control, asks the device to make its screen the
 * size of the player (`r,WxH`), once the player's size has settled: a
 * desktop that can resize (host mode with --allow-resize) follows, others
 * ignore the line. Nothing is sent for a size already asked for or already
 * streamed.
 */
export class ResizeFollower {
  private readonly observer: ResizeObserver;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private active = false;
  private lastAsked = "";

  constructor(
    private readonly box: HTMLElement,
    private readonly send: (line: string) => boolean,
    private readonly streamSize: () => { width: number; height: number } | undefined,
  ) {
    this.observer = new ResizeObserver(() => this.schedule());
  }

  /** Follows the player while `on` (this viewer holds control); a new holder asks afresh. */
  setActive(on: boolean): void {
    if (on === this.active) return;
    this.active = on;
    clearTimeout(this.timer);
    if (on) {
      this.lastAsked = "";
      this.observer.observe(this.box);
      this.schedule();
    } else this.observer.disconnect();
  }

  private schedule(): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.ask(), RESIZE_SETTLE_MS);
  }

  private ask(): void {
    if (!this.active) return;
    const want = wantedSize(this.box.clientWidth, this.box.clientHeight);
    if (!want) return;
    const key = `${want.width}x${want.height}`;
    const now = this.streamSize();
    if (key === this.lastAsked || (now && now.width === want.width && now.height === want.height)) return;
    if (this.send(resizeLine(want.width, want.height))) this.lastAsked = key;
  }
}
