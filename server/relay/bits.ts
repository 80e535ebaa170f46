/** Reading a bitstream's header fields (H.264 SPS, VP9 uncompressed header) most significant bit first. */

/** Reads bits MSB first from `data`, from byte `offset` on; throws a RangeError past its end. */
export class Bits {
  private at: number;
  constructor(
    private readonly data: Uint8Array,
    offset = 0,
  ) {
    this.at = offset * 8;
  }

  bit(): number {
    const byte = this.at >> 3;
    if (byte >= this.data.length) throw new RangeError("the bitstream ends early");
    const b = (this.data[byte] >> (7 - (this.at & 7))) & 1;
    this.at++;
    return b;
  }

  bits(n: number): number {
    let v = 0;
    for (let i = 0; i < n; i++) v = v * 2 + this.bit();
    return v;
  }

  /** ue(v): unsigned Exp-Golomb, at most 31 leading zeros. */
  ue(): number {
    let zeros = 0;
    while (this.bit() === 0) if (++zeros > 31) throw new RangeError("Exp-Golomb code too long");
    return 2 ** zeros - 1 + this.bits(zeros);
  }

  /** se(v): signed Exp-Golomb. */
  se(): number {
    const k = this.ue();
    return k % 2 === 1 ? (k + 1) / 2 : -(k / 2);
  }
}
