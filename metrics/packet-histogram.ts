import type { Metric, Registry } from "prom-client";

/** One line of the histogram, as prom-client's registry prints it. */
interface Sample {
  metricName: string;
  labels: Record<string, string | number>;
  value: number;
}

/**
 * A histogram without labels for values observed per packet and per viewer:
 * an observation is a bucket search and three additions into preallocated
 * numbers. prom-client's Histogram makes a closure and label objects for
 * every observation, which cost the relay about 3 % of its CPU at one
 * observation per forwarded packet. Registered in a prom-client Registry
 * like any of its metrics (it answers `get()` in prom-client's shape), so
 * `/metrics` prints it the same way: cumulative `_bucket{le}` lines, `_sum`
 * and `_count`.
 */
export class PacketHistogram {
  readonly type = "histogram" as const;
  /** How a cluster's AggregatorRegistry would merge it. */
  readonly aggregator = "sum" as const;
  private readonly bounds: Float64Array;
  /** Observations per bucket (not cumulative); the last is +Inf. */
  private readonly counts: Float64Array;
  private sum = 0;
  private count = 0;

  constructor(
    readonly name: string,
    readonly help: string,
    buckets: readonly number[],
    registers: readonly Registry[],
  ) {
    const sorted = [...buckets].sort((a, b) => a - b);
    if (sorted.length === 0 || sorted.some((b) => !Number.isFinite(b))) throw new RangeError(`${name}: buckets must be finite numbers`);
    this.bounds = Float64Array.from(sorted);
    this.counts = new Float64Array(sorted.length + 1);
    // prom-client's Metric type lists its own classes; a registry only calls get(), reset() and reads name, help, type, aggregator.
    for (const r of registers) r.registerMetric(this as unknown as Metric);
  }

  observe(value: number): void {
    if (!Number.isFinite(value)) return;
    const bounds = this.bounds;
    let i = 0;
    while (i < bounds.length && value > bounds[i]) i++;
    this.counts[i]++;
    this.sum += value;
    this.count++;
  }

  /**
   * Observes `count` values, base + offsets[i] × scale, the offsets not
   * decreasing: the bucket search goes on from the last value's bucket.
   */
  observeRising(base: number, offsets: Float64Array, count: number, scale: number): void {
    const bounds = this.bounds;
    let i = 0;
    let sum = 0;
    let observed = 0;
    for (let k = 0; k < count; k++) {
      const value = base + offsets[k] * scale;
      if (!Number.isFinite(value)) continue;
      while (i < bounds.length && value > bounds[i]) i++;
      this.counts[i]++;
      sum += value;
      observed++;
    }
    this.sum += sum;
    this.count += observed;
  }

  reset(): void {
    this.counts.fill(0);
    this.sum = 0;
    this.count = 0;
  }

  get(): Promise<{ name: string; help: string; type: "histogram"; aggregator: "sum"; values: Sample[] }> {
    const values: Sample[] = [];
    let cumulative = 0;
    for (let i = 0; i <= this.bounds.length; i++) {
      cumulative += this.counts[i];
      const le = i < this.bounds.length ? this.bounds[i] : "+Inf";
      values.push({ metricName: `${this.name}_bucket`, labels: { le }, value: cumulative });
    }
    values.push({ metricName: `${this.name}_sum`, labels: {}, value: this.sum });
    values.push({ metricName: `${this.name}_count`, labels: {}, value: this.count });
    return Promise.resolve({ name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values });
  }
}
