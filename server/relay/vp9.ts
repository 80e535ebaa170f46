/**
 * The VP9 RTP payload descriptor (RFC 9628 §4.2), read in place: the
 * temporal layer and switching-up point the relay chooses frames by, the
 * keyframe and its picture size, and the picture ID and TL0PICIDX a viewer
 * needs kept continuous when its source changes. Pure.
 *
 *      +-+-+-+-+-+-+-+-+
 *      |I|P|L|F|B|E|V|Z|
 *      +-+-+-+-+-+-+-+-+
 *   I: |M| PICTURE ID  |  M: | EXTENDED PID  |
 *   L: | TID |U| SID |D|  then TL0PICIDX when F = 0 (non-flexible mode)
 *      P_DIFF octets (F = 1 and P = 1), then the scalability structure (V)
 */
import { Bits } from "./bits.js";
import { PictureIdMunger, readPictureId, type IdSpots } from "./picture-id-munger.js";

const I = 0x80;
const P = 0x40;
const L = 0x20;
const F = 0x10;
const B = 0x08;
const E = 0x04;
const V = 0x02;

/** A descriptor's fields, as far as the relay uses them. */
export interface Vp9Descriptor {
  /** Width of the picture ID: none, 7 or 15 bits. */
  pictureIdBits: 0 | 7 | 15;
  pictureId: number;
  /** Inter-picture predicted (P): false on a keyframe's pictures. */
  interPicture: boolean;
  /** Flexible mode (F): references are listed, no TL0PICIDX. */
  flexible: boolean;
  /** The packet starts (B) or ends (E) a layer frame. */
  frameStart: boolean;
  frameEnd: boolean;
  /** Layer indices, when the L bit is set (else 0, false, 0, -1). */
  hasLayers: boolean;
  tid: number;
  /** Switching up point (U): later frames of higher layers refer to nothing before this one. */
  switchingUp: boolean;
  sid: number;
  tl0PicIdx: number;
  /** The spatial layers' sizes the scalability structure lists (V with Y), lowest first; empty without one. */
  sizes: Array<{ width: number; height: number }>;
  /** Bytes of descriptor before the VP9 payload. */
  length: number;
}

/** Where parseVp9Descriptor reads the picture ID into; one for the module, so reading allocates no more than the descriptor. */
const scratch: IdSpots = { pidBits: 0, pidAt: 0, pid: 0, tl0At: -1, tl0: 0 };

/** Reads the descriptor, or undefined when the payload is too short for what its bits announce. */
export function parseVp9Descriptor(p: Buffer): Vp9Descriptor | undefined {
  if (p.length < 1) return undefined;
  const b0 = p[0];
  const d: Vp9Descriptor = {
    pictureIdBits: 0,
    pictureId: 0,
    interPicture: (b0 & P) !== 0,
    flexible: (b0 & F) !== 0,
    frameStart: (b0 & B) !== 0,
    frameEnd: (b0 & E) !== 0,
    hasLayers: (b0 & L) !== 0,
    tid: 0,
    switchingUp: false,
    sid: 0,
    tl0PicIdx: -1,
    sizes: [],
    length: 1,
  };
  let i = 1;
  if (b0 & I) {
    i = readPictureId(p, 1, scratch);
    if (i < 0) return undefined;
    d.pictureIdBits = scratch.pidBits;
    d.pictureId = scratch.pid;
  }
  if (b0 & L) {
    if (p.length < i + 1) return undefined;
    d.tid = p[i] >> 5;
    d.switchingUp = (p[i] & 0x10) !== 0;
    d.sid = (p[i] >> 1) & 0x07;
    i += 1;
    if (!d.flexible) {
      if (p.length < i + 1) return undefined;
      d.tl0PicIdx = p[i];
      i += 1;
    }
  }
  if (d.flexible && d.interPicture) {
    // Up to three reference differences, each with N set while another follows; a third with N set ends them all the same (as GStreamer's depayloader reads it).
    for (let n = 0; n < 3; n++) {
      if (p.length < i + 1) return undefined;
      const more = (p[i] & 0x01) !== 0;
      i += 1;
      if (!more) break;
    }
  }
  if (b0 & V) {
    if (p.length < i + 1) return undefined;
    const ss = p[i];
    const layers = (ss >> 5) + 1;
    i += 1;
    if (ss & 0x10) {
      if (p.length < i + 4 * layers) return undefined;
      for (let s = 0; s < layers; s++, i += 4) d.sizes.push({ width: p.readUInt16BE(i), height: p.readUInt16BE(i + 2) });
    }
    if (ss & 0x08) {
      if (p.length < i + 1) return undefined;
      const pictures = p[i];
      i += 1;
      for (let g = 0; g < pictures; g++) {
        if (p.length < i + 1) return undefined;
        i += 1 + ((p[i] >> 2) & 0x03);
      }
      if (p.length < i) return undefined;
    }
  }
  d.length = i;
  return d;
}

/**
 * The temporal layer of a VP9 packet, without allocating and in the form
 * vp8Temporal gives: -1 when it has no layer indices (no L bit, too short);
 * else the TID, plus 4 at a switching-up point and 8 when the packet starts
 * a frame. Read once per packet, shared by every viewer.
 */
export function vp9Temporal(p: Buffer): number {
  if (p.length < 2) return -1;
  const b0 = p[0];
  if ((b0 & L) === 0) return -1;
  let i = 1;
  if (b0 & I) i += p[i] & 0x80 ? 2 : 1;
  if (p.length <= i) return -1;
  const t = p[i];
  // TID is 3 bits wide; the relay knows up to three temporal layers (L1T3), so a higher one is never forwarded to a viewer that limits them.
  return Math.min(t >> 5, 3) | (t & 0x10 ? 4 : 0) | (b0 & B ? 8 : 0);
}

/** True when this RTP payload starts a VP9 keyframe: a frame's first packet, not inter-predicted, of the lowest spatial layer. */
export function isVp9KeyframeStart(p: Buffer): boolean {
  if (p.length < 1) return false;
  const b0 = p[0];
  if ((b0 & B) === 0 || (b0 & P) !== 0) return false;
  if ((b0 & L) === 0) return true;
  let i = 1;
  if (b0 & I) {
    if (p.length < 2) return false;
    i += p[1] & 0x80 ? 2 : 1;
  }
  return p.length > i && ((p[i] >> 1) & 0x07) === 0;
}

/** The picture size a VP9 keyframe's scalability structure announces (its highest spatial layer), or undefined for any other packet. */
export function vp9KeyframeSize(p: Buffer): { width: number; height: number } | undefined {
  if (!isVp9KeyframeStart(p)) return undefined;
  return parseVp9Descriptor(p)?.sizes.at(-1);
}

/** Fills `s` with a VP9 payload's picture ID and TL0PICIDX places; false when it has no picture ID (or is too short). */
export function locateVp9Ids(p: Buffer, s: IdSpots): boolean {
  if (p.length < 2 || (p[0] & I) === 0) return false;
  const i = readPictureId(p, 1, s);
  if (i < 0) return false;
  // TL0PICIDX follows the layer indices, in non-flexible mode only.
  if (p[0] & L && !(p[0] & F)) {
    if (p.length < i + 2) return false;
    s.tl0At = i + 1;
    s.tl0 = p[i + 1];
  }
  return true;
}

/**
 * One viewer's VP9 picture IDs and TL0PICIDX across source switches. Unlike
 * VP8's, the gaps left by temporal layers not forwarded stay: a receiver
 * places a non-flexible picture in its group of pictures by its distance in
 * picture IDs from the group's start, and a flexible one names its
 * references as picture ID differences, so renumbering would break both.
 * Browsers take the gap as the higher layer's pictures missing, which no
 * forwarded picture refers to.
 */
export class Vp9Munger extends PictureIdMunger {
  constructor() {
    super(locateVp9Ids, false);
  }
}

/** A picture size. */
export interface Size {
  width: number;
  height: number;
}

/**
 * What a VP9 frame's uncompressed header (VP9 bitstream specification
 * §6.2) at `offset` of `data` says of the picture size: the size it sets (a
 * keyframe's, an intra-only frame's, or an inter frame's that gives one
 * instead of taking a reference's), "kept" when it sets none (it shows an
 * earlier frame, or takes a reference's size), or undefined when it cannot
 * be read (cut short, no frame marker or sync code). What a decoder would
 * allocate for, so a guard in front of one reads it here.
 */
export function vp9HeaderSize(data: Buffer, offset: number): Size | "kept" | undefined {
  try {
    return uncompressedHeaderSize(new Bits(data, offset));
  } catch (err) {
    if (err instanceof RangeError) return undefined;
    throw err;
  }
}

function uncompressedHeaderSize(r: Bits): Size | "kept" | undefined {
  if (r.bits(2) !== 2) return undefined; // frame_marker
  const profile = r.bit() | (r.bit() << 1);
  if (profile === 3) r.bit();
  if (r.bit()) return "kept"; // show_existing_frame: no header of its own
  const keyframe = r.bit() === 0;
  const showFrame = r.bit();
  const errorResilient = r.bit();
  const frameSize = () => ({ width: r.bits(16) + 1, height: r.bits(16) + 1 });
  const syncCode = () => r.bits(24) === 0x498342;
  const colorConfig = () => {
    if (profile >= 2) r.bit(); // ten_or_twelve_bit
    const srgb = r.bits(3) === 7;
    if (!srgb) r.bit(); // color_range
    if (profile === 1 || profile === 3) r.bits(srgb ? 1 : 3); // subsampling_x/y and reserved_zero, or reserved_zero
  };
  if (keyframe) {
    if (!syncCode()) return undefined;
    colorConfig();
    return frameSize();
  }
  const intraOnly = showFrame ? 0 : r.bit();
  if (!errorResilient) r.bits(2); // reset_frame_context
  if (intraOnly) {
    if (!syncCode()) return undefined;
    if (profile > 0) colorConfig();
    r.bits(8); // refresh_frame_flags
    return frameSize();
  }
  r.bits(8); // refresh_frame_flags
  r.bits(12); // three ref_frame_idx and their sign_bias
  for (let i = 0; i < 3; i++) if (r.bit()) return "kept"; // found_ref: the size of a reference, already allowed
  return frameSize();
}

/**
 * The frames a superframe index at the end of `frame` lists (VP9 bitstream
 * specification, Annex B), as [offset, length] pairs: undefined when it ends
 * in none, null when its index claims more bytes than the frame holds. A
 * decoder decodes each listed frame, each with a header of its own.
 */
export function vp9SuperframeFrames(frame: Buffer): Array<[number, number]> | undefined | null {
  const last = frame.length > 0 ? frame[frame.length - 1] : 0;
  if ((last & 0xe0) !== 0xc0) return undefined;
  const bytesPerSize = ((last >> 3) & 0x03) + 1;
  const count = (last & 0x07) + 1;
  const indexSize = 2 + bytesPerSize * count;
  const indexAt = frame.length - indexSize;
  if (indexAt < 0 || frame[indexAt] !== last) return undefined;
  const frames: Array<[number, number]> = [];
  let at = 0;
  for (let i = 0; i < count; i++) {
    let size = 0;
    for (let b = 0; b < bytesPerSize; b++) size += frame[indexAt + 1 + i * bytesPerSize + b] * 2 ** (8 * b);
    if (at + size > indexAt) return null;
    frames.push([at, size]);
    at += size;
  }
  return frames;
}
