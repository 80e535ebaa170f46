/** Unit tests of web/src/repair-buffer.ts (see e2e/coords.test.ts for why they live in e2e/). */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { CLEAN_AFTER_MS } from "../server/protocol/clean-link.js";
import { REPAIR_MARGIN_MS, REPAIR_MAX_MS, RepairBuffer, repairTargetFor } from "../web/src/repair-buffer.js";

const sample = (at: number, nackCount: number | null, rttMs: number | null = 80) => ({ at, nackCount, rttMs });

describe("repair buffer", () => {
  test("the target covers a resend: a round trip and a quarter plus 50 ms, at most 500", () => {
    assert.equal(repairTargetFor(80), 150);
    assert.equal(repairTargetFor(200), 300);
    assert.equal(repairTargetFor(1), 51, "a LAN: the next packet shows the loss, then a round trip");
    assert.equal(repairTargetFor(2000), REPAIR_MAX_MS, "a satellite link");
    assert.equal(repairTargetFor(null), REPAIR_MARGIN_MS, "no round trip measured yet");
    assert.equal(repairTargetFor(Number.NaN), REPAIR_MARGIN_MS);
  });

  test("nothing is set while no NACK goes out; the first one sets the target", () => {
    const r = new RepairBuffer();
    assert.equal(r.update(sample(0, null)), undefined, "before the connection");
    assert.equal(r.update(sample(1000, 0)), undefined);
    assert.equal(r.update(sample(2000, 0)), undefined);
    assert.equal(r.targetMs, null);
    assert.equal(r.update(sample(3000, 4)), 150);
    assert.equal(r.targetMs, 150);
    assert.equal(r.update(sample(4000, 9)), undefined, "the same round trip: it stays");
  });

  test("a viewer whose first sample already counts NACKs sets the target at once", () => {
    const r = new RepairBuffer();
    assert.equal(r.update(sample(1000, 3, 40)), 100);
  });

  test("the target follows the round trip when it moves by a fifth or more", () => {
    const r = new RepairBuffer();
    r.update(sample(1000, 1, 80));
    assert.equal(r.update(sample(2000, 2, 90)), undefined, "163 is within a fifth of 150");
    assert.equal(r.update(sample(3000, 3, 160)), 250);
    assert.equal(r.update(sample(4000, 3, 40)), 100, "and down");
  });

  test("handed back after a clean spell, set again at the next NACK", () => {
    const r = new RepairBuffer();
    r.update(sample(1000, 1));
    assert.equal(r.update(sample(1000 + CLEAN_AFTER_MS - 1, 1)), undefined);
    assert.equal(r.update(sample(1000 + CLEAN_AFTER_MS, 1)), null, "clean: the browser's own buffer again");
    assert.equal(r.targetMs, null);
    assert.equal(r.update(sample(1000 + CLEAN_AFTER_MS + 500, 1)), undefined);
    assert.equal(r.update(sample(1000 + CLEAN_AFTER_MS + 1000, 2)), 150);
  });

  test("a count that goes down is no NACK; a rise from there is", () => {
    const r = new RepairBuffer();
    r.update(sample(1000, 10));
    r.update(sample(1000 + CLEAN_AFTER_MS, 10));
    assert.equal(r.targetMs, null);
    assert.equal(r.update(sample(2000 + CLEAN_AFTER_MS, 0)), undefined, "fewer than before");
    assert.equal(r.update(sample(3000 + CLEAN_AFTER_MS, 1)), 150);
  });

  test("a sample without a round trip keeps the target set", () => {
    const r = new RepairBuffer();
    assert.equal(r.update(sample(1000, 1, 200)), 300);
    assert.equal(r.update(sample(2000, 2, null)), undefined);
    assert.equal(r.targetMs, 300);
  });
});
