import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { KeyframeRequester } from "./keyframe-requester.js";
import { fakeTimers } from "./fake-timers.js";

describe("KeyframeRequester", () => {
  test("sends the first request at once", () => {
    const { timers } = fakeTimers();
    let sent = 0;
    const k = new KeyframeRequester(() => sent++, 500, timers);
    k.request();
    assert.equal(sent, 1);
  });

  test("folds a burst inside the interval into one request at the interval's end", () => {
    const { timers, advance } = fakeTimers();
    let sent = 0;
    const k = new KeyframeRequester(() => sent++, 500, timers);
    k.request();
    advance(100);
    for (let i = 0; i < 10; i++) k.request();
    assert.equal(sent, 1);
    advance(399);
    assert.equal(sent, 1);
    advance(1);
    assert.equal(sent, 2);
    assert.equal(k.coalesced, 9);
  });

  test("never sends two requests closer than the interval", () => {
    const { timers, advance } = fakeTimers();
    const at: number[] = [];
    const k = new KeyframeRequester(() => at.push(timers.now()), 500, timers);
    for (let t = 0; t < 3000; t += 37) {
      k.request();
      advance(37);
    }
    for (let i = 1; i < at.length; i++) assert.ok(at[i] - at[i - 1] >= 500, `gap ${at[i] - at[i - 1]}`);
    assert.ok(at.length >= 5 && at.length <= 7, `sent ${at.length}`);
  });

  test("a request after a quiet interval goes out immediately", () => {
    const { timers, advance } = fakeTimers();
    let sent = 0;
    const k = new KeyframeRequester(() => sent++, 500, timers);
    k.request();
    advance(600);
    k.request();
    assert.equal(sent, 2);
  });

  test("close cancels a pending request", () => {
    const { timers, advance, pending } = fakeTimers();
    let sent = 0;
    const k = new KeyframeRequester(() => sent++, 500, timers);
    k.request();
    k.request();
    assert.equal(pending(), 1);
    k.close();
    advance(1000);
    k.request();
    assert.equal(sent, 1);
    assert.equal(pending(), 0);
  });

  test("a keyframe answers the requests folded so far: the one due at the interval's end is dropped", () => {
    const { timers, advance } = fakeTimers();
    let sent = 0;
    const k = new KeyframeRequester(() => sent++, 500, timers);
    k.request();
    advance(100);
    k.request();
    k.keyframeArrived();
    advance(1000);
    assert.equal(sent, 1);
    assert.equal(k.coalesced, 1, "the request that waited was answered");
  });

  test("once the last request was answered, the next goes after the shorter gap, not the whole interval", () => {
    const { timers, advance } = fakeTimers();
    const at: number[] = [];
    const k = new KeyframeRequester(() => at.push(timers.now()), 500, timers, 200);
    const t0 = timers.now();
    k.request();
    advance(100);
    k.keyframeArrived();
    k.request();
    assert.equal(at.length, 1, "not closer than the gap");
    advance(99);
    assert.equal(at.length, 1);
    advance(1);
    assert.deepEqual(
      at.map((t) => t - t0),
      [0, 200],
    );
    // Unanswered, the next waits the whole interval again.
    k.request();
    advance(499);
    assert.equal(at.length, 2);
    advance(1);
    assert.equal(at.length, 3);
  });

  test("answered at once: a request well after the gap goes out immediately", () => {
    const { timers, advance } = fakeTimers();
    let sent = 0;
    const k = new KeyframeRequester(() => sent++, 500, timers, 200);
    k.request();
    k.keyframeArrived();
    advance(250);
    k.request();
    assert.equal(sent, 2);
  });
});
