/**
 * Converting between tightly packed I420 (what Tessera's code handles) and
 * GStreamer's I420 buffers, whose rows are padded to 4 bytes (a 100-pixel
 * wide picture has 52-byte chroma rows for 50 samples).
 */

/** A raw picture in tightly packed I420: Y (w × h), then U and V ((w/2) × (h/2)); even sizes. */
export interface I420Picture {
  data: Buffer;
  width: number;
  height: number;
}

/** Where GStreamer puts the planes of an I420 picture (video-info.c's default layout). */
export interface GstI420Layout {
  strides: [number, number, number];
  offsets: [number, number, number];
  size: number;
}

const up2 = (n: number) => (n + 1) & ~1;
const up4 = (n: number) => (n + 3) & ~3;

/** GStreamer's default I420 layout for a picture size. */
export function gstI420Layout(width: number, height: number): GstI420Layout {
  const cs = up4(up2(width) / 2);
  const ch = up2(height) / 2;
  const u = up4(width) * up2(height);
  const v = u + cs * ch;
  return { strides: [up4(width), cs, cs], offsets: [0, u, v], size: v + cs * ch };
}

/**
 * A GStreamer I420 buffer as a packed picture. Odd sizes lose their last
 * column or row, so the result always has even sizes. Returns `buf` itself
 * when it is already packed.
 */
export function fromGstI420(buf: Buffer, width: number, height: number): I420Picture {
  const layout = gstI420Layout(width, height);
  if (buf.length < layout.size) {
    throw new RangeError(`I420 ${width}x${height} needs ${layout.size} bytes, got ${buf.length}`);
  }
  const w = width & ~1;
  const h = height & ~1;
  if (w === width && h === height && layout.size === (w * h * 3) / 2) return { data: buf, width: w, height: h };
  const out = Buffer.allocUnsafe((w * h * 3) / 2);
  copyPlanes(buf, layout, out, packedLayout(w, h), w, h);
  return { data: out, width: w, height: h };
}

/** A packed picture as a GStreamer I420 buffer; returns `data` itself when no padding is needed. */
export function toGstI420(p: I420Picture): Buffer {
  const layout = gstI420Layout(p.width, p.height);
  if (layout.size === p.data.length) return p.data;
  const out = Buffer.alloc(layout.size);
  copyPlanes(p.data, packedLayout(p.width, p.height), out, layout, p.width, p.height);
  return out;
}

function packedLayout(w: number, h: number): GstI420Layout {
  const u = w * h;
  const c = (w / 2) * (h / 2);
  return { strides: [w, w / 2, w / 2], offsets: [0, u, u + c], size: u + 2 * c };
}

/** Copies the visible w × h picture (even sizes) between two layouts, row by row. */
function copyPlanes(src: Buffer, from: GstI420Layout, dst: Buffer, to: GstI420Layout, w: number, h: number): void {
  for (let plane = 0; plane < 3; plane++) {
    const rowBytes = plane === 0 ? w : w / 2;
    const rows = plane === 0 ? h : h / 2;
    for (let r = 0; r < rows; r++) {
      const s = from.offsets[plane] + r * from.strides[plane];
      src.copy(dst, to.offsets[plane] + r * to.strides[plane], s, s + rowBytes);
    }
  }
}
