/**
 * Words of one record (records): sequence number, timestamp, abs-send-time,
 * rollover counter, header bits, the picture ID offsets the payload went
 * with (IDS_SHIFTED | TL0PICIDX offset << 16 | picture ID offset, or 0),
 * then when it was last resent (a double).
 */
export const RECORD_WORDS = 8;
const R_SEQ = 0;
const R_TIMESTAMP = 1;
const R_ABS = 2;
const R_ROC = 3;
const R_BITS = 4;
const R_IDS = 5;
/** Set in a record's R_IDS word when the payload went with its picture IDs shifted (the native fan-out writes it). */
export const IDS_SHIFTED = 0x80000000;
/**
 * Set in a record's R_BITS word (above the header bits' byte) when the
 * native fan-out wrote it: its payload is then in the fan-out's PayloadRing
 * (whose id is in bits 9-15) under the incoming sequence number (the high
 * 16 bits).
 */
const FROM_LANE = 0x100;
/** Payloads a ring keeps: as many as a video sender's records (fast-sender.ts's REFERENCES). */
const RING = 1024;

/**
 * The payloads of the packets a fan-out (fanout-lane.ts) sent, by incoming
 * sequence number: one reference per packet for all its members, where
 * their records point.
 */
export class PayloadRing {
  private readonly payloads = new Array<Buffer | undefined>(RING);
  private readonly seqs = new Int32Array(RING).fill(-1);

  /** `id`: 0 to 127, what the records name it by. */
  constructor(readonly id: number) {}

  put(seq: number, payload: Buffer): void {
    const i = seq & (RING - 1);
    this.payloads[i] = payload;
    this.seqs[i] = seq;
  }

  get(seq: number): Buffer | undefined {
    const i = seq & (RING - 1);
    return this.seqs[i] === seq ? this.payloads[i] : undefined;
  }
}
/** The resend time's index in the Float64Array over the same records. */
const RESENT_AT_DOUBLE = 3;

/**
 * The last packets a sender sent, by reference: what is needed to write each
 * one again byte for byte (payload, header bits such as the marker,
 * timestamp, abs-send-time and SRTP rollover counter under its sequence
 * number), and when each was last resent. Indexed by sequence number modulo
 * the size (a power of two). The fields of a packet lie together in one
 * 32-byte record of `records`, so remembering one touches one cache line,
 * allocates nothing, and the native fan-out (native/fanout.c) writes the
 * same records; the payloads are the relay's own, never reused, so keeping
 * a reference keeps the bytes (a fan-out's records point into its
 * PayloadRing instead, one reference for all its members).
 */
export class SentPackets {
  /** A packet's payload, by index, for the records remember wrote (a fan-out's are in its ring). */
  private readonly payloads: Array<Buffer | undefined>;
  /** The rings of the fan-outs that wrote records here lately (at most 4, one per id). */
  private rings: PayloadRing[] = [];
  /** RECORD_WORDS per packet; the native fan-out writes them too. */
  readonly records: Uint32Array;
  private readonly seqs: Int32Array;
  private readonly resentAt: Float64Array;
  private readonly mask: number;

  constructor(readonly size: number) {
    if (!Number.isInteger(size) || size <= 0 || (size & (size - 1)) !== 0) throw new RangeError("SentPackets: the size must be a power of two");
    this.mask = size - 1;
    this.payloads = new Array<Buffer | undefined>(size);
    this.records = new Uint32Array(size * RECORD_WORDS);
    this.seqs = new Int32Array(this.records.buffer);
    this.resentAt = new Float64Array(this.records.buffer);
    for (let i = 0; i < size; i++) {
      this.seqs[i * RECORD_WORDS + R_SEQ] = -1;
      this.resentAt[i * (RECORD_WORDS / 2) + RESENT_AT_DOUBLE] = -Infinity;
    }
  }

  /** Remembers a packet just sent (in place of the one `size` sequence numbers before it). */
  remember(seq: number, payload: Buffer, bits: number, timestamp: number, abs: number, roc: number): void {
    const i = seq & this.mask;
    const r = i * RECORD_WORDS;
    this.payloads[i] = payload;
    this.seqs[r + R_SEQ] = seq;
    const records = this.records;
    records[r + R_TIMESTAMP] = timestamp >>> 0;
    records[r + R_ABS] = abs;
    records[r + R_ROC] = roc;
    records[r + R_BITS] = bits;
    records[r + R_IDS] = 0;
    this.resentAt[i * (RECORD_WORDS / 2) + RESENT_AT_DOUBLE] = -Infinity;
  }

  /**
   * The native fan-out writes records here whose payloads are in `ring`.
   * Records of an older ring with the same id are forgotten (their numbers
   * would find another track's payloads).
   */
  useRing(ring: PayloadRing): void {
    if (this.rings.includes(ring)) return;
    const clash = this.rings.findIndex((r) => r.id === ring.id);
    if (clash >= 0) {
      this.rings.splice(clash, 1);
      const seqs = this.seqs;
      for (let r = 0; r < this.records.length; r += RECORD_WORDS) {
        const word = this.records[r + R_BITS];
        if ((word & FROM_LANE) !== 0 && ((word >>> 9) & 0x7f) === ring.id) seqs[r + R_SEQ] = -1;
      }
    }
    this.rings.push(ring);
    if (this.rings.length > 4) this.rings.shift();
  }

  /**
   * The entry of `seq` when it is still kept and was not resent within
   * `gapMs` of `now`, marked as resent now; -1 otherwise.
   */
  takeForResend(seq: number, now: number, gapMs: number): number {
    const i = seq & this.mask;
    const at = i * (RECORD_WORDS / 2) + RESENT_AT_DOUBLE;
    if (this.seqs[i * RECORD_WORDS + R_SEQ] !== seq || this.payload(i) === undefined || now - this.resentAt[at] < gapMs) return -1;
    this.resentAt[at] = now;
    return i;
  }

  /** The fields of entry `i` (from takeForResend). */
  /** Entry `i`'s payload: defined for what takeForResend gave. */
  payload(i: number): Buffer | undefined {
    const word = this.records[i * RECORD_WORDS + R_BITS];
    if ((word & FROM_LANE) === 0) return this.payloads[i];
    const id = (word >>> 9) & 0x7f;
    for (const ring of this.rings) if (ring.id === id) return ring.get(word >>> 16);
    return undefined;
  }
  seq(i: number): number {
    return this.seqs[i * RECORD_WORDS + R_SEQ];
  }
  bits(i: number): number {
    return this.records[i * RECORD_WORDS + R_BITS] & 0xff;
  }
  timestamp(i: number): number {
    return this.records[i * RECORD_WORDS + R_TIMESTAMP];
  }
  abs(i: number): number {
    return this.records[i * RECORD_WORDS + R_ABS];
  }
  roc(i: number): number {
    return this.records[i * RECORD_WORDS + R_ROC];
  }
  /** The picture ID offsets entry `i`'s payload went with: IDS_SHIFTED | TL0PICIDX offset << 16 | picture ID offset, or 0 when it went as kept. */
  ids(i: number): number {
    return this.records[i * RECORD_WORDS + R_IDS];
  }
}
