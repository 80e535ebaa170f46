/**
 * The VP8 RTP payload descriptor (RFC 7741 §4.2), read and rewritten in
 * place of a copy: what a viewer needs kept continuous when its source
 * changes (a simulcast layer switch, a device reconnecting) is the picture
 * ID and TL0PICIDX, besides the RTP numbers the rewriter keeps. Pure.
 */
import { PictureIdMunger, readPictureId, type IdSpots } from "./picture-id-munger.js";

/** Where a descriptor's fields are, and their values. */
export interface Vp8Descriptor {
  /** Width of the picture ID: none, 7 or 15 bits. */
  pictureIdBits: 0 | 7 | 15;
  /** Byte offset of the picture ID (its first byte, M bit included). */
  pictureIdAt: number;
  pictureId: number;
  /** Byte offset of TL0PICIDX, or -1. */
  tl0At: number;
  tl0PicIdx: number;
  /** Temporal layer index and layer sync bit, when the T bit is set (else 0 and false). */
  tid: number;
  layerSync: boolean;
  /** Bytes of descriptor before the VP8 payload. */
  length: number;
  /** The packet starts a frame (S=1, partition 0). */
  frameStart: boolean;
}

/** Reads the descriptor, or undefined when the payload is too short for what its bits announce. */
export function parseVp8Descriptor(p: Buffer): Vp8Descriptor | undefined {
  if (p.length < 1) return undefined;
  const b0 = p[0];
  const d: Vp8Descriptor = {
    pictureIdBits: 0,
    pictureIdAt: -1,
    pictureId: 0,
    tl0At: -1,
    tl0PicIdx: 0,
    tid: 0,
    layerSync: false,
    length: 1,
    frameStart: (b0 & 0x10) !== 0 && (b0 & 0x07) === 0,
  };
  if ((b0 & 0x80) === 0) return d;
  if (p.length < 2) return undefined;
  const x = p[1];
  let i = 2;
  if (x & 0x80) {
    if (p.length < i + 1) return undefined;
    d.pictureIdAt = i;
    if (p[i] & 0x80) {
      if (p.length < i + 2) return undefined;
      d.pictureIdBits = 15;
      d.pictureId = ((p[i] & 0x7f) << 8) | p[i + 1];
      i += 2;
    } else {
      d.pictureIdBits = 7;
      d.pictureId = p[i] & 0x7f;
      i += 1;
    }
  }
  if (x & 0x40) {
    if (p.length < i + 1) return undefined;
    d.tl0At = i;
    d.tl0PicIdx = p[i];
    i += 1;
  }
  if (x & 0x30) {
    if (p.length < i + 1) return undefined;
    if (x & 0x20) {
      d.tid = p[i] >> 6;
      d.layerSync = (p[i] & 0x20) !== 0;
    }
    i += 1;
  }
  d.length = i;
  return d;
}

/**
 * The temporal layer of a VP8 packet, without allocating: -1 when it has no
 * TID (no T bit, too short); else the TID, plus 4 when the layer sync bit
 * is set and 8 when the packet starts a frame. Read once per packet, shared
 * by every viewer.
 */
export function vp8Temporal(p: Buffer): number {
  if (p.length < 2 || (p[0] & 0x80) === 0) return -1;
  const x = p[1];
  if ((x & 0x20) === 0) return -1;
  let i = 2;
  if (x & 0x80) i += p.length > i && p[i] & 0x80 ? 2 : 1;
  if (x & 0x40) i += 1;
  if (p.length <= i) return -1;
  const t = p[i];
  const frameStart = (p[0] & 0x10) !== 0 && (p[0] & 0x07) === 0;
  return (t >> 6) | (t & 0x20 ? 4 : 0) | (frameStart ? 8 : 0);
}

/** The picture size a VP8 keyframe's first packet announces (RFC 6386 §9.1), or undefined for any other packet. */
export function vp8KeyframeSize(p: Buffer): { width: number; height: number } | undefined {
  const d = parseVp8Descriptor(p);
  if (!d || !d.frameStart) return undefined;
  const h = d.length;
  // Frame tag: P (bit 0 of the first byte) is 0 for a keyframe; then the start code 9d 01 2a.
  if (p.length < h + 10 || (p[h] & 0x01) !== 0 || p[h + 3] !== 0x9d || p[h + 4] !== 0x01 || p[h + 5] !== 0x2a) return undefined;
  return { width: p.readUInt16LE(h + 6) & 0x3fff, height: p.readUInt16LE(h + 8) & 0x3fff };
}

/** Fills `s` with a VP8 payload's picture ID and TL0PICIDX places; false when it has no picture ID (or is too short). */
export function locateVp8Ids(p: Buffer, s: IdSpots): boolean {
  if (p.length < 3 || (p[0] & 0x80) === 0 || (p[1] & 0x80) === 0) return false;
  const i = readPictureId(p, 2, s);
  if (i < 0) return false;
  if (p[1] & 0x40) {
    if (p.length < i + 1) return false;
    s.tl0At = i;
    s.tl0 = p[i];
  }
  return true;
}

/**
 * One viewer's VP8 picture IDs and TL0PICIDX across source switches and
 * dropped temporal layers: the pictures not forwarded are closed over, so
 * the viewer's receiver sees no picture missing.
 */
export class Vp8Munger extends PictureIdMunger {
  constructor() {
    super(locateVp8Ids, true);
  }
}
