/**
 * The VP8 RTP payload descriptor (RFC 7741 §4.2), read and rewritten in
 * place of a copy: what a viewer needs kept continuous when its source
 * changes (a simulcast layer switch, a device reconnecting) is the picture
 * ID and TL0PICIDX, besides the RTP numbers the rewriter keeps. Pure.
 */

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

/** a − b in a wrapping space of mask + 1 values (a power of two), from −half to half − 1. */
function wrapDiff(a: number, b: number, mask: number): number {
  const half = (mask + 1) / 2;
  return ((((a - b) & mask) + half) & mask) - half;
}

/** Where a payload's picture ID and TL0PICIDX are; one reused per munger, so the per-packet path allocates nothing. */
interface IdSpots {
  pidBits: 0 | 7 | 15;
  pidAt: number;
  pid: number;
  tl0At: number;
  tl0: number;
}

/** Fills `s` with the payload's picture ID and TL0PICIDX places; false when it has no picture ID (or is too short). */
function locateIds(p: Buffer, s: IdSpots): boolean {
  if (p.length < 3 || (p[0] & 0x80) === 0 || (p[1] & 0x80) === 0) return false;
  const x = p[1];
  let i = 2;
  s.pidAt = i;
  if (p[i] & 0x80) {
    if (p.length < i + 2) return false;
    s.pidBits = 15;
    s.pid = ((p[i] & 0x7f) << 8) | p[i + 1];
    i += 2;
  } else {
    s.pidBits = 7;
    s.pid = p[i] & 0x7f;
    i += 1;
  }
  s.tl0At = -1;
  s.tl0 = 0;
  if (x & 0x40) {
    if (p.length < i + 1) return false;
    s.tl0At = i;
    s.tl0 = p[i];
  }
  return true;
}

/**
 * One viewer's picture IDs and TL0PICIDX across source switches. Within a
 * source, output = input + offset (mod the field's width); at the first
 * packet after `switchSource` (a keyframe) the offsets are chosen so the
 * viewer's picture ID continues at last + 1 and TL0PICIDX at last + 1. The
 * shared payload is never written: a changed packet is a copy. Runs per
 * packet per viewer: no allocation unless a packet changes.
 */
export class Vp8Munger {
  private pidOffset = 0;
  private tl0Offset = 0;
  private lastPid: number | undefined;
  private lastTl0: number | undefined;
  private switching = false;
  /** Input picture IDs dropped (temporal layers not forwarded) since the last switch, oldest first. */
  private readonly dropped: number[] = [];
  private readonly spots: IdSpots = { pidBits: 0, pidAt: 0, pid: 0, tl0At: -1, tl0: 0 };

  /** The next packet comes from a new source (and starts a keyframe). */
  switchSource(): void {
    this.switching = true;
    this.dropped.length = 0;
  }

  /**
   * The picture starting with `payload` is not forwarded (a temporal layer
   * the viewer does not get): later picture IDs close the gap.
   */
  dropPicture(payload: Buffer): void {
    const d = this.spots;
    if (this.switching || !locateIds(payload, d)) return;
    this.pidOffset = (this.pidOffset - 1) & 0x7fff;
    this.forgetDrops(d.pid, d.pidBits === 15 ? 0x7fff : 0x7f);
    this.dropped.push(d.pid);
    if (this.dropped.length > 64) this.dropped.shift();
  }

  /**
   * Forgets drops more than a quarter of the picture ID's circle behind
   * `pid`: past half of it they would seem to lie ahead of every picture and
   * shift its number (a 7-bit ID goes round in about four seconds).
   */
  private forgetDrops(pid: number, pidMask: number): void {
    const window = (pidMask + 1) >> 2;
    while (this.dropped.length > 0 && wrapDiff(pid, this.dropped[0], pidMask) > window) this.dropped.shift();
  }

  /** The payload to send for `payload`: the same buffer when nothing changes, else a rewritten copy. */
  munge(payload: Buffer): Buffer {
    const d = this.spots;
    if (!locateIds(payload, d)) return payload;
    const pidMask = d.pidBits === 15 ? 0x7fff : 0x7f;
    if (this.switching) {
      this.switching = false;
      this.pidOffset = this.lastPid === undefined ? 0 : (this.lastPid + 1 - d.pid) & 0x7fff;
      this.tl0Offset = this.lastTl0 === undefined || d.tl0At < 0 ? 0 : (this.lastTl0 + 1 - d.tl0) & 0xff;
    }
    this.forgetDrops(d.pid, pidMask);
    // A late packet of a picture from before a drop keeps the number it had.
    let offset = this.pidOffset;
    for (let i = this.dropped.length - 1; i >= 0 && wrapDiff(this.dropped[i], d.pid, pidMask) > 0; i--) offset = (offset + 1) & 0x7fff;
    const pid = (d.pid + offset) & pidMask;
    if (this.lastPid === undefined || wrapDiff(pid, this.lastPid & pidMask, pidMask) > 0) this.lastPid = pid;
    let tl0 = d.tl0;
    if (d.tl0At >= 0) {
      tl0 = (d.tl0 + this.tl0Offset) & 0xff;
      if (this.lastTl0 === undefined || wrapDiff(tl0, this.lastTl0, 0xff) > 0) this.lastTl0 = tl0;
    }
    if (pid === d.pid && tl0 === d.tl0) return payload;
    const out = Buffer.from(payload);
    if (d.pidBits === 15) out.writeUInt16BE(0x8000 | pid, d.pidAt);
    else out[d.pidAt] = pid;
    if (d.tl0At >= 0) out[d.tl0At] = tl0;
    return out;
  }
}
