/**
 * Which fallback frame to ack: a frame is done once every stripe of it that
 * arrived has been painted, dropped as stale, or failed to decode, and every
 * earlier frame is done too. Pure, with the clock passed in; unit-tested in
 * e2e/fallback-wire.test.ts.
 */

/** A frame whose stripes are not all done after this long counts as done (a lost decoder output must not stall acks), ms. */
export const FRAME_STALE_MS = 1000;

interface Pending {
  frameId: number;
  stripes: number;
  painted: boolean;
  at: number;
  /** Stripes of a frame already completed (late stripes): not counted again. */
  counted: boolean;
}

/** What `poll` found since the last call. */
export interface FramesDone {
  /** The newest frame id to ack, or undefined when none completed. */
  ack: number | undefined;
  /** Frames completed with at least one stripe painted. */
  painted: number;
}

/** Tracks stripes in flight per frame, in arrival order. */
export class FrameAcks {
  private readonly queue: Pending[] = [];
  private lastDone: number | undefined;

  /** A stripe of `frameId` arrived. */
  received(frameId: number, now: number): void {
    const last = this.queue[this.queue.length - 1];
    if (last?.frameId === frameId) {
      last.stripes++;
      return;
    }
    this.queue.push({ frameId, stripes: 1, painted: false, at: now, counted: frameId === this.lastDone });
  }

  /** A stripe of `frameId` is finished with: drawn (`painted`), or dropped. Unknown ids are ignored. */
  done(frameId: number, painted: boolean): void {
    const entry = this.queue.find((p) => p.frameId === frameId && p.stripes > 0);
    if (!entry) return;
    entry.stripes--;
    entry.painted ||= painted;
  }

  /** Completes frames from the oldest while they are done (or stale). */
  poll(now: number): FramesDone {
    let ack: number | undefined;
    let painted = 0;
    while (this.queue.length > 0) {
      const head = this.queue[0];
      if (head.stripes > 0 && now - head.at < FRAME_STALE_MS) break;
      this.queue.shift();
      ack = head.frameId;
      this.lastDone = head.frameId;
      if (head.painted && !head.counted) painted++;
    }
    return { ack, painted };
  }

  /** Forgets everything (a new socket numbers frames afresh). */
  reset(): void {
    this.queue.length = 0;
    this.lastDone = undefined;
  }
}
