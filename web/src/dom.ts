/** Small DOM helpers shared by the viewer and the device page. */
import type { ObjectFit, Rect } from "./coords.js";

/** The element with this id; throws if the page lacks it (a build mistake, not a runtime condition). */
export function byId<T extends HTMLElement = HTMLElement>(id: string): T {
  const el = document.getElementById(id);
  if (!el) throw new Error(`page has no #${id}`);
  return el as T;
}

/** Creates an element with a class and optional text. */
export function el<K extends keyof HTMLElementTagNameMap>(tag: K, className = "", text?: string): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

const FITS: ReadonlySet<string> = new Set(["contain", "cover", "fill", "none", "scale-down"]);

/** A picture element's content box in client pixels (inside border and padding, after CSS transforms) and its object-fit. */
export function videoGeometry(video: HTMLElement): { rect: Rect; fit: ObjectFit } {
  const r = video.getBoundingClientRect();
  const cs = getComputedStyle(video);
  const sx = video.offsetWidth > 0 ? r.width / video.offsetWidth : 1;
  const sy = video.offsetHeight > 0 ? r.height / video.offsetHeight : 1;
  const px = (v: string) => parseFloat(v) || 0;
  const left = (px(cs.borderLeftWidth) + px(cs.paddingLeft)) * sx;
  const right = (px(cs.borderRightWidth) + px(cs.paddingRight)) * sx;
  const top = (px(cs.borderTopWidth) + px(cs.paddingTop)) * sy;
  const bottom = (px(cs.borderBottomWidth) + px(cs.paddingBottom)) * sy;
  const fit = FITS.has(cs.objectFit) ? (cs.objectFit as ObjectFit) : "fill";
  return { rect: { left: r.left + left, top: r.top + top, width: r.width - left - right, height: r.height - top - bottom }, fit };
}
