import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { LOSS_WINDOW_MS, LossMeter } from "./loss-meter.js";

describe("LossMeter", () => {
  test("nothing before a report; one report gives its own fraction", () => {
    const m = new LossMeter();
    assert.equal(m.loss, undefined);
    m.add({ highestSequence: 100, fractionLost: 64 }, 0);
    assert.equal(m.loss, 0.25);
  });

  test("reports many times a second, each with a fraction of 0 or of nearly all, read as the loss over the last second", () => {
    const m = new LossMeter();
    // 200 packets/s, reported every 25 ms (five packets each); three reports in ten cover a burst a full queue dropped.
    let highest = 1000;
    for (let t = 0; t <= 5000; t += 25) {
      highest += 5;
      m.add({ highestSequence: highest, fractionLost: (t / 25) % 10 < 3 ? 255 : 0 }, t);
      if (t >= LOSS_WINDOW_MS) assert.ok(Math.abs((m.loss ?? -1) - 0.3) <= 0.05, `at ${t} ms: ${m.loss}`);
    }
  });

  test("each report weighs by the packets it covers", () => {
    const m = new LossMeter();
    m.add({ highestSequence: 0, fractionLost: 0 }, 0);
    m.add({ highestSequence: 90, fractionLost: 0 }, 100); // 90 packets, none lost
    m.add({ highestSequence: 100, fractionLost: 128 }, 200); // 10 packets, half lost
    assert.equal(m.loss, 0.05);
  });

  test("a slow stream is measured over at least LOSS_MIN_PACKETS packets, however long they take", () => {
    const m = new LossMeter();
    // 5 packets/s, a report a second; every other report lost one of its five.
    for (let s = 0; s <= 20; s++) m.add({ highestSequence: 5 * s, fractionLost: s % 2 === 1 ? 51 : 0 }, s * 1000);
    const loss = m.loss ?? -1;
    // Over the last second alone (5 packets), it would read as 20 % or none.
    assert.ok(loss > 0.05 && loss < 0.15, `${loss}`);
  });

  test("reports that say nothing arrived, however many, keep a bounded window", () => {
    const m = new LossMeter();
    for (let i = 0; i < 100_000; i++) m.add({ highestSequence: 100 + Math.min(i, 10), fractionLost: 0 }, i);
    assert.equal(m.loss, 0);
    assert.ok((m as unknown as { reports: unknown[] }).reports.length <= 64);
  });

  test("counts that go back start a new window", () => {
    const m = new LossMeter();
    m.add({ highestSequence: 100, fractionLost: 0 }, 0);
    m.add({ highestSequence: 150, fractionLost: 255 }, 500);
    assert.ok((m.loss ?? 0) > 0.9);
    m.add({ highestSequence: 10, fractionLost: 128 }, 1000);
    assert.equal(m.loss, 0.5, "a new stream: its first report's fraction");
    m.add({ highestSequence: 60, fractionLost: 26 }, 1500);
    assert.ok(Math.abs((m.loss ?? 0) - 0.1) < 0.01, `${m.loss}`);
  });
});
