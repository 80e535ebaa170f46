/**
 * Element ⇄ stream pixel mapping for a <video> that shows a stream with
 * `object-fit` (letterboxing) inside a CSS-scaled box. Pure: no DOM, so the
 * unit tests in e2e/coords.test.ts run it under node. `object-position` is
 * assumed to be the default (centred).
 */

/** A rectangle in client (CSS viewport) pixels: the video's content box. */
export interface Rect {
  left: number;
  top: number;
  width: number;
  height: number;
}

/** A point in stream pixels: integers, 0 ≤ x < videoWidth, 0 ≤ y < videoHeight. */
export interface StreamPoint {
  x: number;
  y: number;
}

/** The CSS object-fit values. */
export type ObjectFit = "contain" | "cover" | "fill" | "none" | "scale-down";

/** Where the picture lands in client pixels; it may extend past the element (cover, none). */
export interface PictureBox extends Rect {
  /** Client pixels per stream pixel, horizontally and vertically. */
  scaleX: number;
  scaleY: number;
}

/**
 * The picture's box for a stream of `videoWidth`×`videoHeight` drawn into the
 * content box `rect` with `fit`; undefined while either size is unknown (0).
 */
export function pictureBox(rect: Rect, videoWidth: number, videoHeight: number, fit: ObjectFit = "contain"): PictureBox | undefined {
  if (!(videoWidth > 0 && videoHeight > 0 && rect.width > 0 && rect.height > 0)) return undefined;
  let scaleX: number;
  let scaleY: number;
  const contain = Math.min(rect.width / videoWidth, rect.height / videoHeight);
  switch (fit) {
    case "fill":
      scaleX = rect.width / videoWidth;
      scaleY = rect.height / videoHeight;
      break;
    case "cover":
      scaleX = scaleY = Math.max(rect.width / videoWidth, rect.height / videoHeight);
      break;
    case "none":
      scaleX = scaleY = 1;
      break;
    case "scale-down":
      scaleX = scaleY = Math.min(contain, 1);
      break;
    default:
      scaleX = scaleY = contain;
  }
  const width = videoWidth * scaleX;
  const height = videoHeight * scaleY;
  return {
    left: rect.left + (rect.width - width) / 2,
    top: rect.top + (rect.height - height) / 2,
    width,
    height,
    scaleX,
    scaleY,
  };
}

/**
 * The stream pixel under client point (clientX, clientY), or null when the
 * point is outside the picture (on a letterbox bar or off the element) or the
 * stream size is unknown.
 */
export function toStreamPixels(
  clientX: number,
  clientY: number,
  rect: Rect,
  videoWidth: number,
  videoHeight: number,
  fit: ObjectFit = "contain",
): StreamPoint | null {
  const box = pictureBox(rect, videoWidth, videoHeight, fit);
  if (!box) return null;
  // The visible part of the picture: cover and none crop it to the element.
  const inElement = clientX >= rect.left && clientX < rect.left + rect.width && clientY >= rect.top && clientY < rect.top + rect.height;
  const inPicture = clientX >= box.left && clientX < box.left + box.width && clientY >= box.top && clientY < box.top + box.height;
  if (!inElement || !inPicture) return null;
  return project(clientX, clientY, box, videoWidth, videoHeight);
}

/**
 * Like toStreamPixels, but a point outside the picture is moved to its
 * nearest edge: a drag that leaves the picture keeps moving along the edge,
 * and its release is never lost. Null only when the stream size is unknown.
 */
export function toStreamPixelsClamped(
  clientX: number,
  clientY: number,
  rect: Rect,
  videoWidth: number,
  videoHeight: number,
  fit: ObjectFit = "contain",
): StreamPoint | null {
  const box = pictureBox(rect, videoWidth, videoHeight, fit);
  return box ? project(clientX, clientY, box, videoWidth, videoHeight) : null;
}

/** The client point at the centre of stream pixel (x, y): the inverse, for drawing markers. */
export function fromStreamPixels(
  x: number,
  y: number,
  rect: Rect,
  videoWidth: number,
  videoHeight: number,
  fit: ObjectFit = "contain",
): { clientX: number; clientY: number } | null {
  const box = pictureBox(rect, videoWidth, videoHeight, fit);
  if (!box) return null;
  return { clientX: box.left + (x + 0.5) * box.scaleX, clientY: box.top + (y + 0.5) * box.scaleY };
}

/** Client point → stream pixel inside the picture box, clamped to the stream. */
function project(clientX: number, clientY: number, box: PictureBox, videoWidth: number, videoHeight: number): StreamPoint {
  const x = Math.floor((clientX - box.left) / box.scaleX);
  const y = Math.floor((clientY - box.top) / box.scaleY);
  return { x: clamp(x, 0, videoWidth - 1), y: clamp(y, 0, videoHeight - 1) };
}

function clamp(v: number, lo: number, hi: number): number {
  return v < lo ? lo : v > hi ? hi : v;
}
