import type { Picture } from "./picture.js";

/** How the picture meets the window. */
export type ScaleMode = "fit" | "native" | "resize";
const MODES: readonly ScaleMode[] = ["fit", "native", "resize"];
/** Where the choice is kept. */
const KEY = "tessera.scale";

/**
 * The player's scale modes (`#scale`): **fit** scales the picture into the
 * player; **native** shows one stream pixel per screen pixel and scrolls the
 * player when the picture is larger; **resize** (the default) asks a device
 * that can change its size to take the player's (`r,WxH`, while this viewer
 * controls it) and fits otherwise. Mirrored as `#player[data-scale]`;
 * remembered across visits.
 */
export class ScaleModes {
  private _mode: ScaleMode;

  constructor(
    select: HTMLSelectElement,
    private readonly root: HTMLElement,
    private readonly picture: Picture,
    private readonly changed: (mode: ScaleMode) => void,
  ) {
    const stored = localStorage.getItem(KEY) as ScaleMode | null;
    this._mode = stored && MODES.includes(stored) ? stored : "resize";
    select.value = this._mode;
    select.addEventListener("change", () => {
      const mode = select.value as ScaleMode;
      if (!MODES.includes(mode)) return;
      this._mode = mode;
      localStorage.setItem(KEY, mode);
      this.apply();
      this.changed(mode);
    });
    // A new stream size (a device resized, another transport) changes the native size.
    picture.video.addEventListener("resize", () => this.apply());
    new MutationObserver(() => this.apply()).observe(picture.canvas, { attributes: true, attributeFilter: ["width", "height"] });
    this.apply();
  }

  get mode(): ScaleMode {
    return this._mode;
  }

  private apply(): void {
    this.root.dataset.scale = this._mode;
    const native = this._mode === "native";
    const { width, height } = this.picture.size;
    for (const el of this.picture.elements) {
      if (native && width > 0 && height > 0) {
        // CSS pixels per stream pixel: one device pixel each.
        el.style.width = `${width / devicePixelRatio}px`;
        el.style.height = `${height / devicePixelRatio}px`;
      } else {
        el.style.removeProperty("width");
        el.style.removeProperty("height");
      }
    }
  }
}
