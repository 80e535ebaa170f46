/** Packets kept, as sent, for NACKs: about 0.8 s of 720p30 video (werift keeps 128). */
export const HISTORY = 256;
/** Slot sizes: a 1200-byte-MTU video packet with its header and tag fits the large one, an Opus packet the small one. */
export const SLOT_LARGE = 1500;
const SLOT_SMALL = 320;

/**
 * The last HISTORY datagrams one sender sent, byte for byte (protected, as
 * they went to the socket), for NACKs: answered with the very bytes, no
 * cipher run again. They live in one slab of fixed slots, one per entry, so
 * that no buffer is allocated per packet and none is left for the garbage
 * collector; a datagram too large for its slot, or written while earlier
 * ones still wait to be sent, has its own buffer. The native route
 * (native.ts) writes into the same slots.
 */
export class SentDatagrams {
  private readonly own: Array<Buffer | undefined> = new Array<Buffer | undefined>(HISTORY);
  /**
   * Per entry, its sequence number (-1: none) and the size of the datagram
   * the native route left in its slot (0: the datagram is `own`'s). Two
   * words an entry, one array: the native fan-out writes them too.
   */
  readonly entries = new Int32Array(2 * HISTORY).fill(-1);
  private slab: Buffer | undefined;
  private slot = 0;

  /** The slab, made for the first datagram written into it (slots sized for its kind of packet: `size` bytes). */
  slabFor(size: number): Buffer {
    if (this.slab === undefined) {
      this.slot = size <= SLOT_SMALL ? SLOT_SMALL : SLOT_LARGE;
      this.slab = Buffer.allocUnsafeSlow(HISTORY * this.slot);
    }
    return this.slab;
  }

  /** The size of one slot (0 before the slab is made). */
  get slotBytes(): number {
    return this.slot;
  }

  /**
   * The buffer for `seq`'s datagram of `size` bytes: its slot when it fits
   * and `inSlot` (the datagram goes straight to a socket with nothing queued
   * there: the kernel has taken every earlier datagram, so the slot's last
   * one is gone), else a new buffer.
   */
  buffer(seq: number, size: number, inSlot: boolean): Buffer {
    if (!inSlot) return Buffer.allocUnsafe(size);
    const slab = this.slabFor(size);
    if (size > this.slot) return Buffer.allocUnsafe(size);
    const at = (seq % HISTORY) * this.slot;
    return slab.subarray(at, at + size);
  }

  /** `seq` went out as `datagram` (from buffer()). */
  written(seq: number, datagram: Buffer): void {
    const i = seq % HISTORY;
    this.entries[2 * i] = seq;
    this.entries[2 * i + 1] = 0;
    this.own[i] = datagram;
  }

  /** `seq` went out from its slot, where the native route wrote its `size` bytes. */
  writtenInSlot(seq: number, size: number): void {
    const i = seq % HISTORY;
    this.entries[2 * i] = seq;
    this.entries[2 * i + 1] = size;
    this.own[i] = undefined;
  }

  /** `seq`'s datagram as sent, while it is kept. */
  get(seq: number): Buffer | undefined {
    const i = seq % HISTORY;
    if (this.entries[2 * i] !== seq) return undefined;
    const size = this.entries[2 * i + 1];
    if (size <= 0 || this.slab === undefined) return this.own[i];
    const at = i * this.slot;
    return this.slab.subarray(at, at + size);
  }
}
