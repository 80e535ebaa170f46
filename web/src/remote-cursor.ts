import type { DeviceMessage } from "../../server/protocol/messages.js";
import { pictureBox } from "./coords.js";
import { videoGeometry } from "./dom.js";
import type { Picture } from "./picture.js";

/** A cursor shape's PNG, as base64; bounded like the device message that carries it. */
const PNG_BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;
const MAX_PNG_CHARS = 65_536;

interface Shape {
  png: string;
  hotspotX: number;
  hotspotY: number;
  width: number;
  height: number;
}

const isCount = (v: unknown): v is number => Number.isInteger(v) && (v as number) >= 0;

/**
 * The device's pointer drawn over the picture for a viewer who watches
 * without controlling: `cursor` messages give its shape (`png`, `hotspotX`,
 * `hotspotY`, `width`, `height`) and its position (`x`, `y`, stream
 * pixels), since the video carries no pointer. The shape is scaled with the
 * picture; a device that sends a position but no shape gets a dot. The
 * controller sees its own local pointer in the device's shape instead
 * (control.ts), so the drawn one is hidden for it. `#remote-cursor` carries
 * `data-hotspot-x`/`-y` (stream pixels) for tests.
 */
export class RemoteCursor {
  private shape: Shape | undefined;
  private at: { x: number; y: number } | undefined;
  private visible = true;
  private controlling = false;

  constructor(
    private readonly picture: Picture,
    private readonly el: HTMLElement,
  ) {
    const stage = el.parentElement;
    if (stage) {
      new ResizeObserver(() => this.place()).observe(stage);
      stage.addEventListener("scroll", () => this.place(), { passive: true });
    }
    picture.video.addEventListener("resize", () => this.place());
    this.place();
  }

  /** A `cursor` message: a new shape, a new position, or both. */
  show(msg: DeviceMessage): void {
    const { png, hotspotX, hotspotY, width, height, x, y, visible } = msg;
    if (typeof png === "string" && png.length < MAX_PNG_CHARS && PNG_BASE64.test(png) && [hotspotX, hotspotY, width, height].every(isCount)) {
      this.shape = { png, hotspotX: hotspotX as number, hotspotY: hotspotY as number, width: width as number, height: height as number };
      this.el.style.backgroundImage = `url("data:image/png;base64,${png}")`;
      this.el.classList.remove("dot");
    }
    if (isCount(x) && isCount(y)) this.at = { x, y };
    if (typeof visible === "boolean") this.visible = visible;
    this.place();
  }

  /** This viewer controls the device (its own pointer shows the shape) or not. */
  setControlling(on: boolean): void {
    this.controlling = on;
    this.place();
  }

  /** Forgets the device's pointer (another device was picked). */
  clear(): void {
    this.shape = undefined;
    this.at = undefined;
    this.visible = true;
    this.el.style.removeProperty("background-image");
    this.place();
  }

  private place(): void {
    const { width, height } = this.picture.size;
    const stage = this.el.parentElement;
    const at = this.at;
    // Hidden for a reason the layout does not change: no measuring (each measure forces a layout, and a page
    // that is starting calls this several times before its first frame).
    if (this.controlling || !this.visible || !at || !stage || at.x >= width || at.y >= height) {
      this.el.hidden = true;
      return;
    }
    const { rect, fit } = videoGeometry(this.picture.element);
    const box = pictureBox(rect, width, height, fit);
    if (!box) {
      this.el.hidden = true;
      return;
    }
    // Positions count from the parent's content, which moves when it scrolls (1:1 mode).
    const box0 = stage.getBoundingClientRect();
    const origin = { left: box0.left - stage.scrollLeft, top: box0.top - stage.scrollTop };
    const shape = this.shape ?? { hotspotX: 0, hotspotY: 0, width: 0, height: 0 };
    this.el.classList.toggle("dot", !this.shape);
    this.el.dataset.hotspotX = String(shape.hotspotX);
    this.el.dataset.hotspotY = String(shape.hotspotY);
    const left = box.left - origin.left + (at.x - shape.hotspotX) * box.scaleX;
    const top = box.top - origin.top + (at.y - shape.hotspotY) * box.scaleY;
    this.el.style.transform = `translate(${left}px, ${top}px)`;
    if (this.shape) {
      this.el.style.width = `${shape.width * box.scaleX}px`;
      this.el.style.height = `${shape.height * box.scaleY}px`;
    } else {
      this.el.style.removeProperty("width");
      this.el.style.removeProperty("height");
    }
    this.el.hidden = false;
  }
}
