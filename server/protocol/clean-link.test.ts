import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { CLEAN_AFTER_MAX_MS, CLEAN_AFTER_MS, CleanLink } from "./clean-link.js";

describe("clean link", () => {
  test("clean at first; not from the first NACK; clean again after a spell without one that doubles each time", () => {
    const p = new CleanLink();
    assert.equal(p.clean(0), true, "a new viewer's link starts clean");
    p.nack(1000);
    assert.equal(p.clean(1000), false);
    p.nack(5000); // still losing: the clean spell counts from the last NACK
    assert.equal(p.clean(5000 + CLEAN_AFTER_MS - 1), false);
    assert.equal(p.clean(5000 + CLEAN_AFTER_MS), true);
    // Losing again: twice as long this time, then four times.
    const t = 5000 + CLEAN_AFTER_MS + 1;
    p.nack(t);
    assert.equal(p.clean(t + CLEAN_AFTER_MS), false);
    assert.equal(p.clean(t + 2 * CLEAN_AFTER_MS), true);
    const u = t + 2 * CLEAN_AFTER_MS + 1;
    p.nack(u);
    assert.equal(p.clean(u + 2 * CLEAN_AFTER_MS), false);
    assert.equal(p.clean(u + 4 * CLEAN_AFTER_MS), true);
  });

  test("the wait for a clean link stops growing at its cap", () => {
    const p = new CleanLink();
    let now = 0;
    for (let i = 0; i < 20; i++) {
      p.nack(now);
      now += CLEAN_AFTER_MAX_MS;
      assert.equal(p.clean(now), true, `clean again after the cap (round ${i})`);
      now += 1;
    }
  });

  test("NACKs while the link is already not clean do not lengthen the next wait", () => {
    const p = new CleanLink();
    for (let t = 0; t <= 5000; t += 100) p.nack(t);
    assert.equal(p.clean(5000 + CLEAN_AFTER_MS), true);
  });
});
