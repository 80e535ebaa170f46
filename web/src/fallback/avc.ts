/** H.264 bitstream helpers for the fallback's WebCodecs decoder. Pure, unit-tested in e2e/fallback-wire.test.ts. */

/** NAL unit type of a sequence parameter set. */
const NAL_SPS = 7;

/** The NAL units of an Annex-B buffer (start codes 00 00 01 or 00 00 00 01), as views. */
export function annexBNals(buf: Uint8Array): Uint8Array[] {
  const starts: { at: number; len: number }[] = [];
  for (let i = 0; i + 2 < buf.length; i++) {
    if (buf[i] === 0 && buf[i + 1] === 0 && buf[i + 2] === 1) {
      const four = i > 0 && buf[i - 1] === 0;
      starts.push({ at: i + 3, len: four ? 4 : 3 });
      i += 2;
    }
  }
  return starts.map((s, k) => {
    const next = starts[k + 1];
    return buf.subarray(s.at, next ? next.at - next.len : buf.length);
  });
}

/**
 * The WebCodecs codec string `avc1.PPCCLL` of the first SPS in `annexB`
 * (profile_idc, constraint flags, level_idc), or undefined when it has none.
 */
export function avcCodecString(annexB: Uint8Array): string | undefined {
  for (const nal of annexBNals(annexB)) {
    if (nal.length >= 4 && (nal[0] & 0x1f) === NAL_SPS) {
      const hex = (b: number) => b.toString(16).padStart(2, "0");
      return `avc1.${hex(nal[1])}${hex(nal[2])}${hex(nal[3])}`;
    }
  }
  return undefined;
}
