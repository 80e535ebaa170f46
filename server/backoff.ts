/**
 * The waits before making a failed thing again (a decoder, a transcoder):
 * from `minMs`, doubling while it keeps failing, up to `maxMs`, and from
 * `minMs` again once it works.
 */
export class Backoff {
  private nextMs: number;

  constructor(
    private readonly minMs: number,
    private readonly maxMs: number,
  ) {
    this.nextMs = minMs;
  }

  /** The wait before the next try; the one after is twice as long. */
  take(): number {
    const ms = this.nextMs;
    this.nextMs = Math.min(this.maxMs, ms * 2);
    return ms;
  }

  /** The wait take() would give now, without taking it. */
  peek(): number {
    return this.nextMs;
  }

  /** It worked: the next failure waits `minMs` again. */
  reset(): void {
    this.nextMs = this.minMs;
  }
}

/** Pipelines that failed are made again after 250 ms, doubling up to 30 s while they fail before producing anything. */
export const PIPELINE_RESTART = { minMs: 250, maxMs: 30_000 } as const;
