import { FALLING, PEAK_WINDOW_MS } from "./layer-tuning.js";

/**
 * A viewer's recent bandwidth estimates (its REMBs, or samples of them) and
 * their peak over PEAK_WINDOW_MS: an estimate below FALLING of that peak is
 * falling, the sign of a congested link (a browser cuts its estimate when
 * its link queues; one that holds while packets are lost is losing them at
 * random). Pure: the clock is passed in.
 */
export class EstimatePeak {
  /** Oldest first, none older than PEAK_WINDOW_MS before the newest. */
  private readonly samples: { at: number; bps: number }[] = [];

  /** Takes an estimate, bits/s. */
  add(bps: number, now: number): void {
    while (this.samples.length > 0 && now - this.samples[0].at > PEAK_WINDOW_MS) this.samples.shift();
    this.samples.push({ at: now, bps });
  }

  /** True when `bps` is below FALLING of the highest estimate taken within PEAK_WINDOW_MS of `now` (false before any). */
  falling(bps: number, now: number): boolean {
    let peak = 0;
    for (const s of this.samples) if (now - s.at <= PEAK_WINDOW_MS && s.bps > peak) peak = s.bps;
    return bps < peak * FALLING;
  }
}
