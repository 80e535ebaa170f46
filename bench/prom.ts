/**
 * Just enough of the Prometheus text format for benches: parse a scrape into
 * samples, sum counters by label, and take quantiles of a histogram's delta
 * between two scrapes.
 */

/** One sample line: `name{label="value",...} number`. */
export interface Sample {
  name: string;
  labels: Readonly<Record<string, string>>;
  value: number;
}

const LINE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)/;
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;

/** Parses a text exposition; comments and malformed lines are skipped. */
export function parseMetrics(text: string): Sample[] {
  const out: Sample[] = [];
  for (const line of text.split("\n")) {
    if (line === "" || line.startsWith("#")) continue;
    const m = LINE.exec(line);
    if (!m) continue;
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? "").matchAll(LABEL)) labels[l[1]] = l[2];
    const value = m[3] === "+Inf" ? Infinity : m[3] === "-Inf" ? -Infinity : Number(m[3]);
    out.push({ name: m[1], labels, value });
  }
  return out;
}

/** Sum of every sample called `name` whose labels include all of `match`. */
export function sumOf(samples: readonly Sample[], name: string, match: Record<string, string> = {}): number {
  let total = 0;
  for (const s of samples) {
    if (s.name !== name) continue;
    if (Object.entries(match).every(([k, v]) => s.labels[k] === v)) total += s.value;
  }
  return total;
}

/** A histogram's cumulative bucket counts, by upper bound (ascending, ending at +Inf). */
export interface Buckets {
  le: number[];
  counts: number[];
}

/** The `_bucket` series of histogram `name` (without its suffix). */
export function bucketsOf(samples: readonly Sample[], name: string): Buckets {
  const pairs = samples
    .filter((s) => s.name === `${name}_bucket` && s.labels.le !== undefined)
    .map((s) => [s.labels.le === "+Inf" ? Infinity : Number(s.labels.le), s.value] as const)
    .sort((a, b) => a[0] - b[0]);
  return { le: pairs.map((p) => p[0]), counts: pairs.map((p) => p[1]) };
}

/** What was observed between two scrapes of the same histogram. */
export function bucketDelta(before: Buckets, after: Buckets): Buckets {
  const counts = after.le.map((le, i) => {
    const j = before.le.indexOf(le);
    return after.counts[i] - (j >= 0 ? before.counts[j] : 0);
  });
  return { le: after.le, counts };
}

/** The share (0..1) of observations at most `le`, exact when `le` is a bucket bound; undefined with none or without that bound. */
export function bucketShareAtMost(b: Buckets, le: number): number | undefined {
  const total = b.counts[b.counts.length - 1] ?? 0;
  const i = b.le.indexOf(le);
  return total > 0 && i >= 0 ? b.counts[i] / total : undefined;
}

/**
 * The q-quantile (0..1) of cumulative buckets, interpolated linearly inside
 * the bucket that holds it (as PromQL's histogram_quantile does). Returns
 * undefined with no observations; Infinity when it lies past the last finite
 * bound.
 */
export function bucketQuantile(b: Buckets, q: number): number | undefined {
  const total = b.counts[b.counts.length - 1] ?? 0;
  if (total <= 0) return undefined;
  const rank = q * total;
  for (let i = 0; i < b.le.length; i++) {
    if (b.counts[i] < rank) continue;
    if (b.le[i] === Infinity) return Infinity;
    const lower = i === 0 ? 0 : b.le[i - 1];
    const below = i === 0 ? 0 : b.counts[i - 1];
    const inBucket = b.counts[i] - below;
    return inBucket > 0 ? lower + ((b.le[i] - lower) * (rank - below)) / inBucket : b.le[i];
  }
  return Infinity;
}
