/**
 * A viewer's picture IDs and TL0PICIDX, kept continuous across source
 * switches (a simulcast layer switch, a device reconnecting) for codecs whose
 * payload descriptor carries them (VP8, VP9). The codec's module says where
 * the fields are; this keeps the offsets. Pure.
 */

/** a − b in a wrapping space of mask + 1 values (a power of two), from −half to half − 1. */
export function wrapDiff(a: number, b: number, mask: number): number {
  const half = (mask + 1) / 2;
  return ((((a - b) & mask) + half) & mask) - half;
}

/** Where a payload's picture ID and TL0PICIDX are; one reused per munger, so the per-packet path allocates nothing. */
export interface IdSpots {
  pidBits: 0 | 7 | 15;
  /** Byte offset of the picture ID (its first byte, M bit included). */
  pidAt: number;
  pid: number;
  /** Byte offset of TL0PICIDX, or -1. */
  tl0At: number;
  tl0: number;
}

/**
 * Reads the picture ID at `at` of `p` (VP8 and VP9 write it alike: M bit,
 * then 7 bits or 15) into `s`, TL0PICIDX cleared; the offset after it, or
 * -1 when `p` is too short. Allocates nothing: it runs per packet and viewer.
 */
export function readPictureId(p: Buffer, at: number, s: IdSpots): number {
  if (p.length < at + 1) return -1;
  s.pidAt = at;
  s.tl0At = -1;
  s.tl0 = 0;
  if (p[at] & 0x80) {
    if (p.length < at + 2) return -1;
    s.pidBits = 15;
    s.pid = ((p[at] & 0x7f) << 8) | p[at + 1];
    return at + 2;
  }
  s.pidBits = 7;
  s.pid = p[at] & 0x7f;
  return at + 1;
}

/** Fills `s` with the payload's picture ID and TL0PICIDX places; false when it has no picture ID (or is too short). */
export type LocateIds = (payload: Buffer, s: IdSpots) => boolean;

/**
 * `payload` with `pidOffset` added to its picture ID (mod its width) and
 * `tl0Offset` to its TL0PICIDX (mod 256): a copy when that changes it, else
 * the same buffer. What munge does to a packet newer than any before it.
 */
export function shiftIds(payload: Buffer, locate: LocateIds, pidOffset: number, tl0Offset: number): Buffer {
  const d: IdSpots = { pidBits: 0, pidAt: 0, pid: 0, tl0At: -1, tl0: 0 };
  if (!locate(payload, d)) return payload;
  const pid = (d.pid + pidOffset) & (d.pidBits === 15 ? 0x7fff : 0x7f);
  const tl0 = d.tl0At >= 0 ? (d.tl0 + tl0Offset) & 0xff : d.tl0;
  if (pid === d.pid && tl0 === d.tl0) return payload;
  return rewriteIds(payload, d, pid, tl0);
}

/** A copy of `payload` with the picture ID and TL0PICIDX at `d`'s places set to these. */
function rewriteIds(payload: Buffer, d: IdSpots, pid: number, tl0: number): Buffer {
  const out = Buffer.from(payload);
  if (d.pidBits === 15) out.writeUInt16BE(0x8000 | pid, d.pidAt);
  else out[d.pidAt] = pid;
  if (d.tl0At >= 0) out[d.tl0At] = tl0;
  return out;
}

/**
 * Within a source, output = input + offset (mod the field's width); at the
 * first packet after `switchSource` (a keyframe) the offsets are chosen so
 * the viewer's picture ID continues at last + 1 and TL0PICIDX at last + 1.
 * With `closeGaps`, a picture not forwarded (`dropPicture`) moves the later
 * ones down by one, so the viewer sees no gap. The shared payload is never
 * written: a changed packet is a copy. Runs per packet per viewer: no
 * allocation unless a packet changes.
 */
export class PictureIdMunger {
  private pidOffset = 0;
  private tl0Offset = 0;
  private lastPid: number | undefined;
  private lastTl0: number | undefined;
  private switching = false;
  /** Input picture IDs dropped (temporal layers not forwarded) since the last switch, oldest first. */
  private readonly dropped: number[] = [];
  private readonly spots: IdSpots = { pidBits: 0, pidAt: 0, pid: 0, tl0At: -1, tl0: 0 };

  constructor(
    private readonly locate: LocateIds,
    private readonly closeGaps: boolean,
  ) {}

  /**
   * What a payload newer than any so far gets added to its picture ID and
   * TL0PICIDX (shiftIds), or undefined while a switch is under way (the
   * next packet sets them).
   */
  get offsets(): { pictureId: number; tl0: number } | undefined {
    return this.switching ? undefined : { pictureId: this.pidOffset, tl0: this.tl0Offset };
  }

  /** The next packet comes from a new source (and starts a keyframe). */
  switchSource(): void {
    this.switching = true;
    this.dropped.length = 0;
  }

  /**
   * The picture starting with `payload` is not forwarded (a temporal layer
   * the viewer does not get): with `closeGaps`, later picture IDs close the gap.
   */
  dropPicture(payload: Buffer): void {
    const d = this.spots;
    if (!this.closeGaps || this.switching || !this.locate(payload, d)) return;
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
    if (!this.locate(payload, d)) return payload;
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
    return rewriteIds(payload, d, pid, tl0);
  }
}
