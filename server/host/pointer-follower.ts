import type { X11Desktop } from "./x11-desktop.js";

/** How often the pointer's position is asked for while someone watches, ms (20 a second). */
export const POINTER_POLL_MS = 50;

/**
 * The desktop's pointer position for viewers who do not hold control (the
 * holder sees its own pointer): asked of the X server 20 times a second
 * while `watched()` says someone watches, and passed on only when it moved.
 * The video carries no pointer, so this is how watchers see it.
 */
export class PointerFollower {
  private readonly timer: NodeJS.Timeout;
  private asking = false;
  private last = "";

  constructor(
    private readonly desktop: Pick<X11Desktop, "pointer">,
    private readonly moved: (x: number, y: number) => void,
    private readonly watched: () => boolean,
    intervalMs = POINTER_POLL_MS,
  ) {
    this.timer = setInterval(() => void this.poll(), intervalMs);
    this.timer.unref();
  }

  close(): void {
    clearInterval(this.timer);
  }

  private async poll(): Promise<void> {
    if (this.asking || !this.watched()) return;
    this.asking = true;
    try {
      const p = await this.desktop.pointer();
      if (!p) return;
      const key = `${p.x},${p.y}`;
      if (key === this.last) return;
      this.last = key;
      this.moved(p.x, p.y);
    } finally {
      this.asking = false;
    }
  }
}
