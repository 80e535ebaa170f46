/**
 * The picture size an H.264 sequence parameter set announces (ITU-T H.264
 * 7.3.2.1.1), read from RTP payloads (RFC 6184: a single SPS unit, an
 * STAP-A holding one, or the first fragment of an FU-A) before anything
 * decodes them: a decoder allocates for what the SPS claims.
 */

import { Bits } from "./bits.js";

const SPS = 7;
const STAP_A = 24;
const FU_A = 28;
/** Profiles whose SPS carries chroma format, bit depths and scaling matrices. */
const HIGH_PROFILES = new Set([100, 110, 122, 244, 44, 83, 86, 118, 128, 138, 139, 134, 135]);

/** An SPS NAL unit's RBSP: the bytes after its header, without emulation prevention bytes (00 00 03). */
function rbsp(nal: Buffer): Uint8Array {
  const out = new Uint8Array(nal.length);
  let n = 0;
  let zeros = 0;
  for (let i = 1; i < nal.length; i++) {
    const b = nal[i];
    if (zeros >= 2 && b === 3) {
      zeros = 0;
      continue;
    }
    zeros = b === 0 ? zeros + 1 : 0;
    out[n++] = b;
  }
  return out.subarray(0, n);
}

function skipScalingList(r: Bits, size: number): void {
  let last = 8;
  let next = 8;
  for (let j = 0; j < size; j++) {
    if (next !== 0) next = (last + r.se() + 256) % 256;
    last = next === 0 ? last : next;
  }
}

/** The coded picture size an SPS NAL unit (header byte included) announces, in pixels before cropping; undefined when it does not parse. */
export function spsPictureSize(nal: Buffer): { width: number; height: number } | undefined {
  if (nal.length < 4 || (nal[0] & 0x1f) !== SPS) return undefined;
  try {
    const r = new Bits(rbsp(nal));
    const profile = r.bits(8);
    r.bits(16); // constraint flags, level
    r.ue(); // seq_parameter_set_id
    if (HIGH_PROFILES.has(profile)) {
      const chroma = r.ue();
      if (chroma === 3) r.bit();
      r.ue(); // bit depths
      r.ue();
      r.bit();
      if (r.bit()) for (let i = 0; i < (chroma === 3 ? 12 : 8); i++) if (r.bit()) skipScalingList(r, i < 6 ? 16 : 64);
    }
    r.ue(); // log2_max_frame_num_minus4
    const pocType = r.ue();
    if (pocType === 0) r.ue();
    else if (pocType === 1) {
      r.bit();
      r.se();
      r.se();
      const cycle = r.ue();
      if (cycle > 255) return undefined;
      for (let i = 0; i < cycle; i++) r.se();
    }
    r.ue(); // max_num_ref_frames
    r.bit();
    const widthMbs = r.ue() + 1;
    const heightUnits = r.ue() + 1;
    const frameMbsOnly = r.bit();
    return { width: widthMbs * 16, height: (2 - frameMbsOnly) * heightUnits * 16 };
  } catch {
    return undefined;
  }
}

/** The picture size of the first SPS in an H.264 RTP payload, if it carries one that parses. */
export function h264SpsSize(payload: Buffer): { width: number; height: number } | undefined {
  if (payload.length < 2) return undefined;
  const type = payload[0] & 0x1f;
  if (type === SPS) return spsPictureSize(payload);
  if (type === FU_A) {
    const fu = payload[1];
    if ((fu & 0x80) === 0 || (fu & 0x1f) !== SPS) return undefined;
    // The unit's header from the FU indicator's NRI and the FU header's type, then the fragment.
    return spsPictureSize(Buffer.concat([Buffer.of((payload[0] & 0xe0) | SPS), payload.subarray(2)]));
  }
  if (type === STAP_A) {
    for (let at = 1; at + 2 < payload.length;) {
      const size = payload.readUInt16BE(at);
      at += 2;
      if (size === 0 || at + size > payload.length) return undefined;
      if ((payload[at] & 0x1f) === SPS) return spsPictureSize(payload.subarray(at, at + size));
      at += size;
    }
  }
  return undefined;
}
