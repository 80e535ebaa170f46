import assert from "node:assert/strict";
import { test } from "node:test";
import { Histogram, Registry } from "prom-client";
import { PacketHistogram } from "./packet-histogram.js";

const BUCKETS = [0.00005, 0.0001, 0.001, 0.01, 0.1];

test("prints exactly what prom-client's Histogram prints for the same observations, bounds included", async () => {
  const [ours, theirs] = [new Registry(), new Registry()];
  const packet = new PacketHistogram("x_seconds", "help text", BUCKETS, [ours]);
  const reference = new Histogram({ name: "x_seconds", help: "help text", buckets: BUCKETS, registers: [theirs] });
  // Bounds themselves (le is "less or equal"), between them, below the first, above the last.
  for (const v of [0, 0.00005, 0.00007, 0.0001, 0.0005, 0.001, 0.003, 0.01, 0.1, 0.25, 7]) {
    packet.observe(v);
    reference.observe(v);
  }
  assert.equal(await ours.metrics(), await theirs.metrics());
  assert.match(await ours.metrics(), /x_seconds_bucket\{le="0\.001"\} 6\n/);
  assert.match(await ours.metrics(), /x_seconds_count 11\n/);
});

test("a value that is not a number is left out; reset empties it", async () => {
  const r = new Registry();
  const h = new PacketHistogram("y_seconds", "y", BUCKETS, [r]);
  h.observe(Number.NaN);
  h.observe(0.002);
  assert.match(await r.metrics(), /y_seconds_count 1\n/);
  r.resetMetrics();
  assert.match(await r.metrics(), /y_seconds_count 0\n/);
  assert.throws(() => new PacketHistogram("z", "z", [], []), /buckets must be finite/);
});

test("observeRising counts base + offset × scale for each, as observe would one by one", async () => {
  const [rising, single] = [new Registry(), new Registry()];
  const many = new PacketHistogram("x_seconds", "help text", BUCKETS, [rising]);
  const one = new PacketHistogram("x_seconds", "help text", BUCKETS, [single]);
  const offsets = Float64Array.from([0, 0.02, 0.05, 0.05, 0.4, 0.95, 12, 99, 5000, 1]);
  many.observeRising(0.00003, offsets, 9, 1 / 1000);
  for (let i = 0; i < 9; i++) one.observe(0.00003 + offsets[i] / 1000);
  assert.equal(await rising.metrics(), await single.metrics(), "the tenth offset (past count) is left out");
  assert.match(await rising.metrics(), /x_seconds_count 9\n/);
});
