/** The desktop's pointer cursor as viewers draw it: XFIXES cursor images turned into PNGs. */
import { PNG } from "pngjs";
import type { XCursorImage, XFixes } from "x11";
import type { Logger } from "../log.js";

/** One cursor image for viewers. */
export interface CursorShape {
  /** Base64 PNG, straight (not premultiplied) alpha. */
  png: string;
  hotspotX: number;
  hotspotY: number;
  width: number;
  height: number;
  /** The X server's cursor serial: a new value means a different image. */
  serial: number;
}

/**
 * Encodes XFIXES cursor pixels (width*height CARD32 ARGB, premultiplied
 * alpha, little-endian as the connection was set up) as a PNG with straight
 * RGBA, which is what browsers draw.
 */
export function cursorPng(width: number, height: number, argb: Buffer): Buffer {
  const png = new PNG({ width, height });
  for (let i = 0; i < width * height; i++) {
    const p = argb.readUInt32LE(i * 4);
    const a = p >>> 24;
    const unpremultiply = (c: number) => (a === 0 ? 0 : Math.min(255, Math.round((c * 255) / a)));
    png.data[i * 4] = unpremultiply((p >>> 16) & 0xff);
    png.data[i * 4 + 1] = unpremultiply((p >>> 8) & 0xff);
    png.data[i * 4 + 2] = unpremultiply(p & 0xff);
    png.data[i * 4 + 3] = a;
  }
  return PNG.sync.write(png);
}

/**
 * Follows the displayed cursor: XFIXES DisplayCursor notifications on the
 * root window, each answered with one GetCursorImage (never more than one in
 * flight), reported when the serial differs from the last one reported.
 */
export class CursorTracker {
  private lastSerial: number | undefined;
  private fetching = false;
  private again = false;

  constructor(
    private readonly fixes: XFixes,
    root: number,
    private readonly log: Logger,
    private readonly report: (shape: CursorShape) => void,
    private readonly alive: () => boolean,
  ) {
    fixes.SelectCursorInput(root, fixes.CursorNotifyMask.DisplayCursor);
  }

  /** The XFIXES CursorNotify event type: events of this type go to notify(). */
  get eventType(): number {
    return this.fixes.firstEvent + this.fixes.events.CursorNotify;
  }

  /** A cursor change: fetches the image unless it is the serial already reported. */
  notify(serial?: number): void {
    if (serial !== undefined && serial === this.lastSerial) return;
    if (this.fetching) {
      this.again = true;
      return;
    }
    this.fetching = true;
    this.fixes.GetCursorImage((err, image) => {
      this.fetching = false;
      if (!this.alive()) return true;
      try {
        if (err) this.log.debug("GetCursorImage failed", { err });
        else this.take(image);
      } catch (e) {
        this.log.warn("cursor image not encoded", { err: e });
      }
      if (this.again) {
        this.again = false;
        this.notify();
      }
      return true;
    });
  }

  private take(image: XCursorImage): void {
    if (image.cursorSerial === this.lastSerial) return;
    const { width, height } = image;
    if (width <= 0 || height <= 0 || image.cursorImage.length < width * height * 4) {
      this.log.debug("cursor image unusable", { width, height, bytes: image.cursorImage.length });
      return;
    }
    this.lastSerial = image.cursorSerial;
    this.report({
      png: cursorPng(width, height, image.cursorImage).toString("base64"),
      hotspotX: image.xhot,
      hotspotY: image.yhot,
      width,
      height,
      serial: image.cursorSerial,
    });
  }
}
