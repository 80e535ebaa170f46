/**
 * The last packets a sender sent, by reference: what is needed to write each
 * one again byte for byte (payload, header bits such as the marker,
 * timestamp, abs-send-time and SRTP rollover counter under its sequence
 * number), and when each was last
 * resent. Indexed by sequence number modulo the size; typed arrays, so a
 * packet remembered costs no allocation. The payloads are the relay's own,
 * never reused, so keeping a reference keeps the bytes.
 */
export class SentPackets {
  private readonly payloads: Array<Buffer | undefined>;
  private readonly seqs: Int32Array;
  private readonly timestamps: Uint32Array;
  private readonly absTimes: Uint32Array;
  private readonly rocs: Uint32Array;
  /** The header bits fast-sender.ts writes from (marker, playout delay). */
  private readonly headerBits: Uint8Array;
  /** performance.now() of each entry's last resend, -Infinity for never. */
  private readonly resentAt: Float64Array;

  constructor(readonly size: number) {
    this.payloads = new Array<Buffer | undefined>(size);
    this.seqs = new Int32Array(size).fill(-1);
    this.timestamps = new Uint32Array(size);
    this.absTimes = new Uint32Array(size);
    this.rocs = new Uint32Array(size);
    this.headerBits = new Uint8Array(size);
    this.resentAt = new Float64Array(size).fill(-Infinity);
  }

  /** Remembers a packet just sent (in place of the one `size` sequence numbers before it). */
  remember(seq: number, payload: Buffer, bits: number, timestamp: number, abs: number, roc: number): void {
    const i = seq % this.size;
    this.payloads[i] = payload;
    this.seqs[i] = seq;
    this.timestamps[i] = timestamp >>> 0;
    this.absTimes[i] = abs;
    this.rocs[i] = roc;
    this.headerBits[i] = bits;
    this.resentAt[i] = -Infinity;
  }

  /**
   * The entry of `seq` when it is still kept and was not resent within
   * `gapMs` of `now`, marked as resent now; -1 otherwise.
   */
  takeForResend(seq: number, now: number, gapMs: number): number {
    const i = seq % this.size;
    if (this.seqs[i] !== seq || this.payloads[i] === undefined || now - this.resentAt[i] < gapMs) return -1;
    this.resentAt[i] = now;
    return i;
  }

  /** The fields of entry `i` (from takeForResend). */
  payload(i: number): Buffer {
    return this.payloads[i] as Buffer;
  }
  seq(i: number): number {
    return this.seqs[i];
  }
  bits(i: number): number {
    return this.headerBits[i];
  }
  timestamp(i: number): number {
    return this.timestamps[i];
  }
  abs(i: number): number {
    return this.absTimes[i];
  }
  roc(i: number): number {
    return this.rocs[i];
  }
}
