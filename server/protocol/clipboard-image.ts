/**
 * Clipboard images (PNG) on the `input` channel, both ways. A picture is
 * larger than one data-channel message may be (werift and Chromium agree on
 * 64 KiB), so its base64 travels in parts of at most PART_CHARS characters,
 * a multiple of 4: every part is whole base64 on its own, and the parts
 * joined are the picture's base64.
 *
 * - viewer → device: `ci,<part>,<parts>,<base64>` lines, part 1…parts, in
 *   order on the reliable lane;
 * - device → viewers: `{"type":"clipboard","png":"<base64>","part":i,"parts":n}`.
 *
 * Plain TypeScript with no Buffer and no DOM: the server, the desktop agent
 * and the web app all compile it.
 */

/** Base64 characters per part: 48,000 bytes of picture, so a line or message stays under 64 KiB. */
export const PART_CHARS = 64_000;
/** Parts of one picture at most. */
export const MAX_PARTS = 5;
/** Largest clipboard picture, bytes (240,000: one X request carries it, no INCR transfer). */
export const MAX_CLIPBOARD_IMAGE_BYTES = (MAX_PARTS * PART_CHARS * 3) / 4;
/** The MIME type (and X selection target) of clipboard pictures. */
export const CLIPBOARD_IMAGE_TYPE = "image/png";

/** The first 8 bytes of every PNG file. */
const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

/** Whether `bytes` start like a PNG file. */
export function isPng(bytes: Uint8Array): boolean {
  return bytes.length > PNG_SIGNATURE.length && PNG_SIGNATURE.every((b, i) => bytes[i] === b);
}

/** The bytes base64 stands for; undefined when it is not base64. */
export function base64Bytes(base64: string): Uint8Array<ArrayBuffer> | undefined {
  try {
    return Uint8Array.from(atob(base64), (c) => c.charCodeAt(0));
  } catch {
    return undefined;
  }
}

/** A picture's base64 cut into parts; undefined when it is larger than MAX_CLIPBOARD_IMAGE_BYTES. */
export function splitImage(base64: string): string[] | undefined {
  if (base64.length === 0 || base64.length > MAX_PARTS * PART_CHARS) return undefined;
  const parts: string[] = [];
  for (let i = 0; i < base64.length; i += PART_CHARS) parts.push(base64.slice(i, i + PART_CHARS));
  return parts;
}

/** The `ci` lines that write a picture (base64) to the device's clipboard; undefined when too large. */
export function clipboardImageLines(base64: string): string[] | undefined {
  return splitImage(base64)?.map((part, i, all) => `ci,${i + 1},${all.length},${part}`);
}

/** The device messages that tell viewers of a picture (base64) on its clipboard; undefined when too large. */
export function clipboardImageMessages(base64: string): { type: "clipboard"; png: string; part: number; parts: number }[] | undefined {
  return splitImage(base64)?.map((png, i, all) => ({ type: "clipboard", png, part: i + 1, parts: all.length }));
}

/**
 * Joins the parts of one picture at a time. A first part starts over; a
 * part out of turn, or one whose count disagrees, drops what was gathered.
 * Returns the whole picture's base64 with its last part.
 */
export class ImageAssembler {
  private parts: string[] = [];
  private expected = 0;

  add(part: number, parts: number, base64: string): string | undefined {
    if (part === 1) {
      this.parts = [];
      this.expected = parts;
    }
    const inTurn =
      Number.isInteger(part) &&
      parts === this.expected &&
      parts <= MAX_PARTS &&
      part === this.parts.length + 1 &&
      (part === parts || base64.length === PART_CHARS);
    if (!inTurn) return void this.reset();
    this.parts.push(base64);
    if (part < parts) return undefined;
    const whole = this.parts.join("");
    this.reset();
    return whole;
  }

  /** Drops what was gathered. */
  reset(): void {
    this.parts = [];
    this.expected = 0;
  }
}
