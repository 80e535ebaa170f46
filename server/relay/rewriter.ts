import { seqAdd, seqDiff, tsAdd } from "./rtp.js";

/**
 * How far behind the newest input a late packet may be and still go out,
 * in sequence numbers. Older is dropped: past half the 16-bit circle "older"
 * could not be told from "newer", and an epoch's start would seem to lie
 * ahead again every 32768 packets.
 */
const LATE_WINDOW = 0x4000;

/** What the rewriter decided for one incoming packet. */
export type Rewrite = { sequenceNumber: number; timestamp: number } | undefined;

/**
 * Maps one viewer's view of a track onto a continuous RTP sequence/timestamp
 * space, across source switches (a device that reconnects, a late join that
 * starts at a keyframe). Pure: the caller passes the wall clock.
 *
 * Within one source epoch, output = input + offset, so gaps and reordering
 * survive and NACKs keep meaning. At the first packet of a new epoch the
 * offsets are chosen so the output sequence continues at last+1 and the
 * timestamp advances by the wall time that passed (at least one tick).
 * Padding packets (`pad`) and dropped packets (`drop`) move the offset by
 * one each. Packets that belong before the first forwarded packet of an epoch are
 * dropped: their output numbers would collide with what was already sent.
 * So are packets more than LATE_WINDOW behind the newest input.
 */
export class RtpRewriter {
  private seqOffset = 0;
  private tsOffset = 0;
  private epochStarted = false;
  private highestOutSeq: number | undefined;
  private lastOutTs: number | undefined;
  private lastOutAtMs = 0;
  /** The oldest input sequence number still forwarded: the epoch's first, then LATE_WINDOW behind the newest. */
  private oldestInSeq = 0;
  /** The newest input sequence number of this epoch, forwarded or dropped. */
  private highestInSeq = 0;
  /** Input sequence numbers dropped in this epoch (temporal layers not forwarded), oldest first. */
  private readonly dropped: number[] = [];
  /** For each padding packet sent in this epoch, the first input sequence number after it, oldest first. */
  private readonly padded: number[] = [];

  /** @param clockRate the track's RTP clock rate (90000 video, 48000 Opus). */
  constructor(private readonly clockRate: number) {}

  /** Starts a new source epoch: the next packet re-anchors the offsets. */
  switchSource(): void {
    this.epochStarted = false;
    this.dropped.length = 0;
    this.padded.length = 0;
  }

  /**
   * Nothing numbered after `sequenceNumber` went out (what was, was kept
   * and then dropped unsent): the next packet starts a new epoch right
   * after it, its timestamp the wall time since `atMs` on from `timestamp`.
   */
  restartAfter(sequenceNumber: number, timestamp: number, atMs: number): void {
    this.switchSource();
    this.highestOutSeq = sequenceNumber;
    this.lastOutTs = timestamp;
    this.lastOutAtMs = atMs;
  }

  /**
   * Numbers for a padding-only packet sent now, after everything so far
   * (`pad` does not check that a frame ended: the caller does): the next
   * sequence number past the newest input's (and past any lost before it,
   * whose numbers stay theirs), and the newest timestamp. Later packets
   * shift up by one; late ones from before it keep their numbers.
   * Undefined before the epoch's first packet.
   */
  pad(): Rewrite {
    if (!this.epochStarted || this.lastOutTs === undefined) return undefined;
    const sequenceNumber = seqAdd(seqAdd(this.highestInSeq, this.seqOffset), 1);
    this.seqOffset = seqAdd(this.seqOffset, 1);
    this.padded.push(seqAdd(this.highestInSeq, 1));
    if (this.padded.length > 512) this.padded.shift();
    if (this.highestOutSeq === undefined || seqDiff(sequenceNumber, this.highestOutSeq) > 0) this.highestOutSeq = sequenceNumber;
    return { sequenceNumber, timestamp: this.lastOutTs };
  }

  /**
   * The packet `sequenceNumber` is not forwarded (a frame of a temporal
   * layer the viewer does not get): later packets close the gap, so the
   * viewer sees no loss. A late one from before the epoch's newest is ignored.
   */
  drop(sequenceNumber: number): void {
    if (!this.epochStarted || seqDiff(sequenceNumber, this.highestInSeq) <= 0) return;
    this.advance(sequenceNumber);
    this.seqOffset = seqAdd(this.seqOffset, -1);
    this.dropped.push(sequenceNumber);
    if (this.dropped.length > 512) this.dropped.shift();
  }

  /** The offsets of the epoch under way (output = input + offset, mod 2^16 and 2^32), once it started. */
  get seqOffsetNow(): number {
    return this.seqOffset;
  }
  get tsOffsetNow(): number {
    return this.tsOffset;
  }

  /**
   * The packet `sequenceNumber`, newer than any so far, went out another way
   * (the native fan-out) under this epoch's offsets: the state is as if
   * rewrite() had given it its numbers at `nowMs`.
   */
  caughtUp(sequenceNumber: number, timestamp: number, nowMs: number): void {
    if (!this.epochStarted || seqDiff(sequenceNumber, this.highestInSeq) <= 0) return;
    this.advance(sequenceNumber);
    const outSeq = seqAdd(sequenceNumber, this.seqOffset);
    if (this.highestOutSeq === undefined || seqDiff(outSeq, this.highestOutSeq) > 0) {
      this.highestOutSeq = outSeq;
      this.lastOutTs = tsAdd(timestamp, this.tsOffset);
      this.lastOutAtMs = nowMs;
    }
  }

  /** Whether output number `sequenceNumber` is the newest given out (by rewrite or pad) so far. */
  isNewest(sequenceNumber: number): boolean {
    return sequenceNumber === this.highestOutSeq;
  }

  /** Rewrites one packet's numbers, or returns undefined when it must be dropped. */
  rewrite(sequenceNumber: number, timestamp: number, nowMs: number): Rewrite {
    if (!this.epochStarted) {
      if (this.highestOutSeq === undefined || this.lastOutTs === undefined) {
        this.seqOffset = 0;
        this.tsOffset = 0;
      } else {
        const elapsedTicks = Math.max(1, Math.round(((nowMs - this.lastOutAtMs) * this.clockRate) / 1000));
        this.seqOffset = seqAdd(seqAdd(this.highestOutSeq, 1), -sequenceNumber);
        this.tsOffset = tsAdd(tsAdd(this.lastOutTs, elapsedTicks), -timestamp);
      }
      this.epochStarted = true;
      this.oldestInSeq = sequenceNumber;
      this.highestInSeq = sequenceNumber;
    } else if (seqDiff(sequenceNumber, this.oldestInSeq) < 0) {
      return undefined;
    }
    let offset = this.seqOffset;
    if (seqDiff(sequenceNumber, this.highestInSeq) > 0) this.advance(sequenceNumber);
    else {
      // A late packet from before a drop or a padding packet keeps the number it would have had.
      for (let i = this.dropped.length - 1; i >= 0 && seqDiff(this.dropped[i], sequenceNumber) > 0; i--) offset = seqAdd(offset, 1);
      for (let i = this.padded.length - 1; i >= 0 && seqDiff(this.padded[i], sequenceNumber) > 0; i--) offset = seqAdd(offset, -1);
    }
    const outSeq = seqAdd(sequenceNumber, offset);
    const outTs = tsAdd(timestamp, this.tsOffset);
    if (this.highestOutSeq === undefined || seqDiff(outSeq, this.highestOutSeq) > 0) {
      this.highestOutSeq = outSeq;
      this.lastOutTs = outTs;
      this.lastOutAtMs = nowMs;
    }
    return { sequenceNumber: outSeq, timestamp: outTs };
  }

  /** `sequenceNumber` is the newest input: the late window and the drops it covers follow it. */
  private advance(sequenceNumber: number): void {
    this.highestInSeq = sequenceNumber;
    const horizon = seqAdd(sequenceNumber, -LATE_WINDOW);
    if (seqDiff(horizon, this.oldestInSeq) > 0) this.oldestInSeq = horizon;
    while (this.dropped.length > 0 && seqDiff(this.dropped[0], this.oldestInSeq) < 0) this.dropped.shift();
    while (this.padded.length > 0 && seqDiff(this.padded[0], this.oldestInSeq) < 0) this.padded.shift();
  }
}
