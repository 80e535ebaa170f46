import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { FLOOR_FPS, MIN_FPS, Pacer, QUALITY_TIERS, type Pace, type PaceSample } from "./pacer.js";

/** Feeds the pacer one sample every 100 ms for `ms`, from `t`; returns the time after. */
function run(p: Pacer, t: number, ms: number, sample: PaceSample): number {
  for (let end = t + ms; t < end; t += 100) p.update(sample, t);
  return t;
}

const calm: PaceSample = { rttMs: 40, deliveredFps: 30, paused: false };
const queued: PaceSample = { rttMs: 700, deliveredFps: 6, paused: false };

describe("Pacer", () => {
  test("a calm link keeps the viewer's own frame rate and the top quality", () => {
    const p = new Pacer(30, 0);
    run(p, 0, 20_000, calm);
    assert.deepEqual(p.pace, { fps: 30, tier: 0 });
  });

  test("queueing lowers the frame rate below what the viewer draws, then the quality, tier by tier", () => {
    const p = new Pacer(30, 0);
    let t = run(p, 0, 3000, calm);
    let first: Pace | undefined;
    for (; !first && t < 4000; t += 100) first = p.update(queued, t);
    assert.deepEqual(first, { fps: Math.floor(6 * 0.7), tier: 0 }, "below the drawn rate at the next decision");
    t = run(p, t, 1500, queued);
    assert.ok(p.pace.fps >= MIN_FPS && p.pace.fps <= FLOOR_FPS);
    t = run(p, t, 2000, queued);
    assert.ok(p.pace.tier >= 1, "at the floor, the quality steps down");
    run(p, t, 3000, queued);
    assert.equal(p.pace.tier, QUALITY_TIERS - 1, "down to the lowest tier, no further");
    assert.equal(p.pace.fps, MIN_FPS);
  });

  test("a round trip that stays high for the whole window is the path's own: the pace climbs back", () => {
    const p = new Pacer(30, 0);
    const t = run(p, 0, 2000, calm);
    run(p, t, 25_000, queued);
    assert.ok(p.pace.fps > MIN_FPS, `after 10 s of a steady round trip it is the base again (${p.pace.fps} fps)`);
  });

  test("a pause from flow control counts as congestion at once", () => {
    const p = new Pacer(30, 0);
    run(p, 0, 3000, calm);
    p.update({ rttMs: 40, deliveredFps: 20, paused: true }, 3000.5);
    assert.equal(p.pace.fps, 14);
  });

  test("a page still loading (late acks, a pause) keeps most of its frame rate; a link that stays slow is paced after the start-up", () => {
    const loading: PaceSample = { rttMs: 900, deliveredFps: 3, paused: false };
    const p = new Pacer(30, 0);
    p.update({ rttMs: 40, deliveredFps: undefined, paused: false }, 0);
    let t = run(p, 100, 1200, loading);
    assert.equal(p.pace.fps, 30, "late acks alone change nothing while it starts");
    p.update({ ...loading, paused: true }, t);
    assert.equal(p.pace.fps, 21, "a pause: a step down from the current rate, not to below the 3 frames/s drawn");
    t = run(p, t + 100, 500, loading);
    assert.equal(p.pace.fps, 21);
    // Past the start-up, the same late acks are queueing: below the drawn rate.
    run(p, t, 1000, loading);
    assert.equal(p.pace.fps, MIN_FPS);
    // A page that finished loading climbs back from the step down alone.
    const q = new Pacer(30, 0);
    q.update({ rttMs: 40, deliveredFps: undefined, paused: false }, 0);
    q.update({ ...loading, paused: true }, 1000);
    run(q, 1100, 4000, calm);
    assert.ok(q.pace.fps > 21, `climbing back (${q.pace.fps} fps)`);
  });

  test("a calm link earns the frame rate back step by step, then the quality after a hold", () => {
    const p = new Pacer(30, 0);
    let t = run(p, 0, 2000, calm);
    t = run(p, t, 8000, queued);
    const low = p.pace;
    assert.ok(low.tier >= 1);
    // The queue drains: round trips back at the base.
    const fpsSeen: number[] = [];
    for (let end = t + 30_000; t < end; t += 100) {
      const changed = p.update(calm, t);
      if (changed) fpsSeen.push(changed.fps);
    }
    assert.ok(fpsSeen.length >= 3, `climbs in steps: ${fpsSeen.join(",")}`);
    assert.equal(p.pace.fps, 30, "the frame rate first");
    assert.ok(p.pace.tier < low.tier, "then the quality");
    run(p, t, 30_000, calm);
    assert.deepEqual(p.pace, { fps: 30, tier: 0 }, "back to the top quality");
  });

  test("a quality climb that congests at once doubles the hold before the next", () => {
    const p = new Pacer(30, 0);
    let t = run(p, 0, 2000, calm);
    t = run(p, t, 8000, queued); // down to a lower tier
    const tier = p.pace.tier;
    // Calm until it climbs a tier.
    let climbedAt = -1;
    for (let end = t + 40_000; t < end && climbedAt < 0; t += 100) if (p.update(calm, t) && p.pace.tier < tier) climbedAt = t;
    assert.ok(climbedAt > 0, "climbed a tier");
    // The climb congests: down again.
    let downAt = -1;
    for (let end = t + 6000; t < end; t += 100) if (p.update(queued, t)?.tier === tier && downAt < 0) downAt = t;
    assert.equal(p.pace.tier, tier, "back down after the failed climb");
    let again = -1;
    for (let end = t + 60_000; t < end && again < 0; t += 100) if (p.update(calm, t) && p.pace.tier < tier) again = t;
    assert.ok(again - downAt >= 20_000, `the next climb waits the doubled hold (${again - downAt} ms)`);
  });

  test("the viewer's own cap bounds the pace", () => {
    const p = new Pacer(30, 0);
    p.setMaxFps(10);
    assert.equal(p.pace.fps, 10);
    run(p, 0, 10_000, calm);
    assert.equal(p.pace.fps, 10);
  });
});
