import { summarize, type StatsReport, type StatsSample } from "./stats-summary.js";

export { statsRows, summarize, type StatsSample } from "./stats-summary.js";

/** Samples a peer connection every `intervalMs` and hands each sample to `onSample`. */
export class StatsSampler {
  private timer: number | undefined;
  private prev: StatsSample | undefined;
  private busy = false;

  constructor(
    private readonly pc: RTCPeerConnection,
    private readonly onSample: (s: StatsSample) => void,
    private readonly intervalMs = 1000,
  ) {
    this.timer = window.setInterval(() => void this.sample(), this.intervalMs);
    void this.sample();
  }

  /** Stops sampling; idempotent. */
  close(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  private async sample(): Promise<void> {
    if (this.busy || this.timer === undefined || this.pc.connectionState === "closed") return;
    this.busy = true;
    try {
      const report = await this.pc.getStats();
      if (this.timer === undefined) return;
      const sample = summarize(report.values() as Iterable<StatsReport>, this.prev, performance.now());
      this.prev = sample;
      this.onSample(sample);
    } catch (err) {
      console.debug("tessera: getStats failed", err);
    } finally {
      this.busy = false;
    }
  }
}
