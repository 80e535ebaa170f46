import assert from "node:assert/strict";
import { test } from "node:test";
import { EstimatePeak } from "./estimate-peak.js";
import { FALLING, PEAK_WINDOW_MS } from "./layer-tuning.js";

test("an estimate is falling below FALLING of the peak of the last PEAK_WINDOW_MS, and not before any or once the peak is older", () => {
  const peak = new EstimatePeak();
  assert.equal(peak.falling(1, 0), false, "nothing to fall from");
  peak.add(2_000_000, 0);
  peak.add(1_500_000, 500);
  assert.equal(peak.falling(2_000_000 * FALLING, 1000), false, "at FALLING of the peak: holding");
  assert.equal(peak.falling(2_000_000 * FALLING - 1, 1000), true, "below it: falling");
  assert.equal(peak.falling(1_500_000, PEAK_WINDOW_MS), true, "the peak still counts at the window's edge");
  assert.equal(peak.falling(1_400_000, PEAK_WINDOW_MS + 1), false, "past it the next highest does: 1.4 of 1.5 Mb/s holds");
  assert.equal(peak.falling(1_300_000, PEAK_WINDOW_MS + 1), true, "and 1.3 of 1.5 falls");
  peak.add(100, PEAK_WINDOW_MS + 600);
  assert.equal(peak.falling(100, PEAK_WINDOW_MS + 600), false, "the old estimates are gone: the newest is its own peak");
});
