import assert from "node:assert/strict";
import { test } from "node:test";
import { bucketDelta, bucketQuantile, bucketShareAtMost, bucketsOf, parseMetrics } from "./prom.js";

const scrape = (counts: number[]) =>
  parseMetrics(["0.0005", "0.001", "0.002", "+Inf"].map((le, i) => `tessera_forward_latency_seconds_bucket{le="${le}"} ${counts[i]}`).join("\n") + "\n");

test("a histogram's share at a bucket bound is exact; a quantile is interpolated inside its bucket", () => {
  const before = bucketsOf(scrape([10, 10, 10, 10]), "tessera_forward_latency_seconds");
  const after = bucketsOf(scrape([60, 107, 110, 110]), "tessera_forward_latency_seconds");
  const window = bucketDelta(before, after);
  assert.deepEqual(window.counts, [50, 97, 100, 100]);
  assert.equal(bucketShareAtMost(window, 0.001), 0.97);
  assert.equal(bucketShareAtMost(window, 0.0005), 0.5);
  assert.equal(bucketShareAtMost(window, 0.0015), undefined, "not a bound");
  // 99 of 100 lies two thirds into the 1–2 ms bucket, whatever the observations there were.
  assert.ok(Math.abs((bucketQuantile(window, 0.99) as number) - 0.001667) < 1e-6);
  assert.equal(bucketShareAtMost(bucketDelta(after, after), 0.001), undefined, "nothing observed");
});
