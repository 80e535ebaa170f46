/** What a pushed JPEG frame is, or why it is refused. */
export type JpegVerdict = { ok: true; width: number; height: number } | { ok: false; code: "not_jpeg" | "truncated"; message: string };

/** Start-of-frame markers (baseline, extended, progressive, lossless; not DHT/JPG/DAC). */
const SOF = new Set([0xc0, 0xc1, 0xc2, 0xc3, 0xc5, 0xc6, 0xc7, 0xc9, 0xca, 0xcb, 0xcd, 0xce, 0xcf]);

/**
 * Checks that `buf` is one whole JPEG: SOI first, a frame header with a
 * size, and EOI last. Reads only marker segments, never decodes; cheap
 * enough for every pushed frame.
 */
export function inspectJpeg(buf: Buffer): JpegVerdict {
  if (buf.length < 4 || buf[0] !== 0xff || buf[1] !== 0xd8) return { ok: false, code: "not_jpeg", message: "not a JPEG: it does not start with FF D8" };
  let i = 2;
  let size: { width: number; height: number } | undefined;
  while (!size) {
    while (i < buf.length && buf[i] === 0xff && buf[i + 1] === 0xff) i++; // fill bytes
    if (i + 4 > buf.length) return { ok: false, code: "truncated", message: "truncated JPEG: it ends before its frame header" };
    if (buf[i] !== 0xff) return { ok: false, code: "not_jpeg", message: `not a JPEG: no marker at byte ${i}` };
    const marker = buf[i + 1];
    const length = buf.readUInt16BE(i + 2);
    if (length < 2) return { ok: false, code: "not_jpeg", message: `not a JPEG: a marker segment of length ${length}` };
    if (SOF.has(marker)) {
      if (i + 9 > buf.length) return { ok: false, code: "truncated", message: "truncated JPEG: its frame header is cut" };
      size = { height: buf.readUInt16BE(i + 5), width: buf.readUInt16BE(i + 7) };
    }
    if (marker === 0xda && !size) return { ok: false, code: "not_jpeg", message: "not a JPEG: image data before a frame header" };
    i += 2 + length;
  }
  if (size.width === 0 || size.height === 0) return { ok: false, code: "not_jpeg", message: `a JPEG of ${size.width}x${size.height} has no pixels` };
  if (buf[buf.length - 2] !== 0xff || buf[buf.length - 1] !== 0xd9)
    return { ok: false, code: "truncated", message: "truncated JPEG: it does not end with FF D9" };
  return { ok: true, ...size };
}
