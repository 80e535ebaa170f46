/**
 * Pinch to zoom the picture on this screen only (nothing goes to the
 * device): while this viewer does not control the device, two fingers on the
 * picture zoom it (1× to 4×) around their midpoint, one finger pans a zoomed
 * picture, and a double tap goes back to 1×. While it controls the device,
 * fingers are the device's (touch lines) and the zoom stays as it is: input
 * maps through it, as it maps through any scaling. `#player[data-zoom]` is
 * the scale, to two decimals.
 */

const MAX_ZOOM = 4;
const DOUBLE_TAP_MS = 300;

interface Point {
  x: number;
  y: number;
}

export class PinchZoom {
  private scale = 1;
  private t: Point = { x: 0, y: 0 };
  /** The pinch under way: the picture point under the fingers' midpoint, and the fingers' distance and scale at its start. */
  private pinch: { local: Point; distance: number; scale: number } | undefined;
  /** The pan under way: where the finger and the translation started. */
  private pan: { from: Point; t: Point } | undefined;
  private lastTap = 0;
  /** The touch under way is a tap so far: one finger that has not moved. */
  private tapping = false;
  private tapFrom: Point = { x: 0, y: 0 };

  constructor(
    private readonly elements: readonly HTMLElement[],
    private readonly root: HTMLElement,
    private readonly capturing: () => boolean,
  ) {
    for (const el of elements) {
      el.style.transformOrigin = "0 0";
      el.addEventListener("touchstart", (e) => this.touch(e, el), { passive: false });
      el.addEventListener("touchmove", (e) => this.touch(e, el), { passive: false });
      el.addEventListener("touchend", (e) => this.end(e), { passive: false });
      el.addEventListener("touchcancel", (e) => this.end(e), { passive: false });
    }
    this.apply();
  }

  /** Back to 1×. */
  reset(): void {
    this.scale = 1;
    this.t = { x: 0, y: 0 };
    this.pinch = this.pan = undefined;
    this.apply();
  }

  /** The element's top-left corner before the transform, in client pixels. */
  private origin(el: HTMLElement): Point {
    const parent = el.offsetParent?.getBoundingClientRect() ?? { left: 0, top: 0 };
    return { x: parent.left + el.offsetLeft, y: parent.top + el.offsetTop };
  }

  private touch(e: TouchEvent, el: HTMLElement): void {
    if (this.capturing()) return;
    const [a, b] = Array.from(e.touches);
    if (e.type === "touchstart") {
      this.tapping = e.touches.length === 1;
      if (a) this.tapFrom = { x: a.clientX, y: a.clientY };
    } else if (!a || b || Math.hypot(a.clientX - this.tapFrom.x, a.clientY - this.tapFrom.y) > 10) this.tapping = false;
    if (a && b) {
      e.preventDefault();
      const mid = { x: (a.clientX + b.clientX) / 2, y: (a.clientY + b.clientY) / 2 };
      const distance = Math.hypot(a.clientX - b.clientX, a.clientY - b.clientY);
      const o = this.origin(el);
      if (!this.pinch || e.type === "touchstart") {
        this.pan = undefined;
        this.pinch = { local: { x: (mid.x - o.x - this.t.x) / this.scale, y: (mid.y - o.y - this.t.y) / this.scale }, distance, scale: this.scale };
        return;
      }
      this.scale = Math.min(MAX_ZOOM, Math.max(1, (this.pinch.scale * distance) / Math.max(1, this.pinch.distance)));
      // Keep the picture point that was under the midpoint under it.
      this.t = { x: mid.x - o.x - this.scale * this.pinch.local.x, y: mid.y - o.y - this.scale * this.pinch.local.y };
      this.apply();
      return;
    }
    if (!a || this.scale === 1) return;
    // One finger on a zoomed picture pans it.
    e.preventDefault();
    if (!this.pan || e.type === "touchstart") {
      this.pan = { from: { x: a.clientX, y: a.clientY }, t: { ...this.t } };
      return;
    }
    this.t = { x: this.pan.t.x + a.clientX - this.pan.from.x, y: this.pan.t.y + a.clientY - this.pan.from.y };
    this.apply();
  }

  private end(e: TouchEvent): void {
    if (this.capturing()) return;
    if (e.touches.length < 2) this.pinch = undefined;
    if (e.touches.length === 0) {
      this.pan = undefined;
      if (e.type === "touchend" && this.tapping) {
        const now = performance.now();
        if (now - this.lastTap < DOUBLE_TAP_MS) {
          this.reset();
          this.lastTap = 0;
        } else this.lastTap = now;
      }
      this.tapping = false;
    }
  }

  private apply(): void {
    if (this.scale <= 1) this.t = { x: 0, y: 0 };
    const transform = this.scale === 1 ? "" : `translate(${this.t.x}px, ${this.t.y}px) scale(${this.scale})`;
    for (const el of this.elements) el.style.transform = transform;
    this.root.dataset.zoom = this.scale.toFixed(2);
  }
}
