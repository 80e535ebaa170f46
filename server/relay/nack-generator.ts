import { seqAdd, seqDiff } from "./rtp.js";

/** How long after a packet went missing it is still asked for, ms: later, viewers have given up on its frame. */
export const NACK_MAX_AGE_MS = 1000;
/** The least time between two requests for one packet, ms (a device resends a packet at most once per round trip). */
export const NACK_RETRY_MS = 25;
/** Requests per missing packet. */
export const NACK_MAX_TRIES = 12;
/** Missing packets tracked at once; a larger hole is given up on (the viewers' keyframe requests take over). */
export const NACK_MAX_MISSING = 512;

interface Missing {
  /** When it went missing, ms. */
  since: number;
  /** When it was last asked for, ms. */
  askedAt: number;
  tries: number;
}

/**
 * Which packets of one incoming RTP stream (one SSRC) to ask its sender for
 * again, and when: the gaps in its sequence numbers, each asked for at once
 * and then every NACK_RETRY_MS until it arrives, NACK_MAX_TRIES times, for at
 * most NACK_MAX_AGE_MS; a keyframe ends the wait for the packets before it.
 * Pure: the caller passes the clock and sends the NACKs.
 */
export class NackGenerator {
  private highest: number | undefined;
  /** Missing sequence numbers, oldest first (a Map keeps insertion order). */
  private readonly missing = new Map<number, Missing>();
  /** Packets that arrived after being asked for. */
  recovered = 0;
  /** Packets given up on. */
  abandoned = 0;

  /** How many packets are missing now. */
  get pending(): number {
    return this.missing.size;
  }

  /** Notes one received packet (`keyframe`: it starts one); true when it opened a new gap. */
  received(sequenceNumber: number, keyframe: boolean, now: number): boolean {
    const highest = this.highest;
    if (highest === undefined) {
      this.highest = sequenceNumber;
      return false;
    }
    const ahead = seqDiff(sequenceNumber, highest);
    if (ahead <= 0) {
      const entry = this.missing.get(sequenceNumber);
      if (entry) {
        this.missing.delete(sequenceNumber);
        if (entry.tries > 0) this.recovered++;
      }
      return false;
    }
    this.highest = sequenceNumber;
    if (keyframe) {
      // Nothing before a keyframe is needed any more, the gap just opened included.
      this.forgetBefore(sequenceNumber);
      return false;
    }
    if (ahead === 1) return false;
    if (ahead - 1 > NACK_MAX_MISSING) {
      // A jump, not a loss: the sender started over (or a hole nobody can fill in time).
      this.abandoned += this.missing.size;
      this.missing.clear();
      return false;
    }
    for (let s = seqAdd(highest, 1); s !== sequenceNumber; s = seqAdd(s, 1)) {
      this.missing.set(s, { since: now, askedAt: -Infinity, tries: 0 });
    }
    for (const seq of this.missing.keys()) {
      if (this.missing.size <= NACK_MAX_MISSING) break;
      this.missing.delete(seq);
      this.abandoned++;
    }
    return true;
  }

  /** The sequence numbers to ask for now, oldest first; each counts as asked. */
  due(now: number): number[] {
    const out: number[] = [];
    for (const [seq, m] of this.missing) {
      if (m.tries >= NACK_MAX_TRIES || now - m.since > NACK_MAX_AGE_MS) {
        this.missing.delete(seq);
        this.abandoned++;
        continue;
      }
      if (now - m.askedAt < NACK_RETRY_MS) continue;
      m.askedAt = now;
      m.tries++;
      out.push(seq);
    }
    return out;
  }

  /** Stops waiting for the packets before `sequenceNumber` (a keyframe's first). */
  private forgetBefore(sequenceNumber: number): void {
    for (const seq of this.missing.keys()) {
      if (seqDiff(seq, sequenceNumber) >= 0) continue;
      this.missing.delete(seq);
      this.abandoned++;
    }
  }
}
