import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { LOSS_MIN_PACKETS, LOSS_WINDOW_MS, LossMeter } from "./loss-meter.js";

describe("LossMeter", () => {
  test("nothing before a report; one report gives its own fraction", () => {
    const m = new LossMeter();
    assert.equal(m.loss, undefined);
    m.add({ packetsLost: 0, highestSequence: 100, fractionLost: 64 }, 0);
    assert.equal(m.loss, 0.25);
  });

  test("reports many times a second, each with a fraction of 0 or of nearly all, read as the loss over the last second", () => {
    const m = new LossMeter();
    // 200 packets/s, reported every 25 ms (five packets each); three reports in ten cover a burst a full queue dropped.
    let highest = 1000;
    for (let t = 0; t <= 5000; t += 25) {
      highest += 5;
      m.add({ packetsLost: 0, highestSequence: highest, fractionLost: (t / 25) % 10 < 3 ? 255 : 0 }, t);
      if (t >= LOSS_WINDOW_MS) assert.ok(Math.abs((m.loss ?? -1) - 0.3) <= 0.05, `at ${t} ms: ${m.loss}`);
    }
  });

  test("settled once its reports span LOSS_MIN_PACKETS packets, not on one report's fraction", () => {
    const m = new LossMeter();
    assert.equal(m.settled, false);
    m.add({ packetsLost: 0, highestSequence: 100, fractionLost: 250 }, 0);
    assert.equal(m.settled, false, "one report");
    m.add({ packetsLost: 0, highestSequence: 100 + LOSS_MIN_PACKETS - 1, fractionLost: 0 }, 50);
    assert.equal(m.settled, false, "two, a packet short");
    m.add({ packetsLost: 0, highestSequence: 100 + LOSS_MIN_PACKETS, fractionLost: 0 }, 60);
    assert.equal(m.settled, true);
  });

  test("each report weighs by the packets it covers", () => {
    const m = new LossMeter();
    m.add({ packetsLost: 0, highestSequence: 0, fractionLost: 0 }, 0);
    m.add({ packetsLost: 0, highestSequence: 90, fractionLost: 0 }, 100); // 90 packets, none lost
    m.add({ packetsLost: 0, highestSequence: 100, fractionLost: 128 }, 200); // 10 packets, half lost
    assert.equal(m.loss, 0.05);
  });

  test("a slow stream is measured over at least LOSS_MIN_PACKETS packets, however long they take", () => {
    const m = new LossMeter();
    // 5 packets/s, a report a second; every other report lost one of its five.
    for (let s = 0; s <= 20; s++) m.add({ packetsLost: 0, highestSequence: 5 * s, fractionLost: s % 2 === 1 ? 51 : 0 }, s * 1000);
    const loss = m.loss ?? -1;
    // Over the last second alone (5 packets), it would read as 20 % or none.
    assert.ok(loss > 0.05 && loss < 0.15, `${loss}`);
  });

  test("reports that say nothing arrived, however many, keep a bounded window", () => {
    const m = new LossMeter();
    for (let i = 0; i < 100_000; i++) m.add({ packetsLost: 0, highestSequence: 100 + Math.min(i, 10), fractionLost: 0 }, i);
    assert.equal(m.loss, 0);
    assert.ok((m as unknown as { reports: unknown[] }).reports.length <= 64);
  });

  test("a report overtaken by a newer one on the way adds nothing", () => {
    const m = new LossMeter();
    m.add({ packetsLost: 10, highestSequence: 100, fractionLost: 0 }, 0, true);
    m.add({ packetsLost: 15, highestSequence: 200, fractionLost: 0 }, 500, true);
    // Made before the last one, come after it.
    m.add({ packetsLost: 30, highestSequence: 150, fractionLost: 0 }, 510, true);
    assert.equal(m.loss, 0.05);
    m.add({ packetsLost: 20, highestSequence: 300, fractionLost: 0 }, 1000, true);
    assert.equal(m.loss, 0.05, "10 of 200");
  });

  test("counts that go back further start a new window", () => {
    const m = new LossMeter();
    m.add({ packetsLost: 0, highestSequence: 5000, fractionLost: 0 }, 0);
    m.add({ packetsLost: 0, highestSequence: 5050, fractionLost: 255 }, 500);
    assert.ok((m.loss ?? 0) > 0.9);
    m.add({ packetsLost: 0, highestSequence: 10, fractionLost: 128 }, 1000);
    assert.equal(m.loss, 0.5, "a new stream: its first report's fraction");
    m.add({ packetsLost: 0, highestSequence: 60, fractionLost: 26 }, 1500);
    assert.ok(Math.abs((m.loss ?? 0) - 0.1) < 0.01, `${m.loss}`);
  });

  test("with resends on RTX, the reports' count of lost packets: packets that overtake one another cancel out, where the fractions read high", () => {
    // What a libwebrtc receiver reports of 200 packets/s, a report every 25 ms (5 packets): every 20th packet lost, and every
    // 7th arriving late, after the next report. Such a packet is counted lost in that report, found in the next, whose
    // fraction does not go below zero for it.
    const isLost = (seq: number) => seq % 20 === 0;
    const isLate = (seq: number) => seq % 7 === 0 && !isLost(seq);
    const reports: Array<{ highestSequence: number; fractionLost: number; packetsLost: number; at: number }> = [];
    let lostSoFar = 0;
    let cumBefore = 0;
    for (let k = 1; k <= 200; k++) {
      let lateNow = 0;
      for (let seq = 5 * (k - 1); seq < 5 * k; seq++) {
        if (isLost(seq)) lostSoFar++;
        if (isLate(seq)) lateNow++;
      }
      const cum = lostSoFar + lateNow;
      reports.push({ highestSequence: 5 * k - 1, fractionLost: Math.floor((256 * Math.max(0, cum - cumBefore)) / 5), packetsLost: cum, at: k * 25 });
      cumBefore = cum;
    }
    const byFraction = new LossMeter();
    const byCount = new LossMeter();
    for (const r of reports) {
      byFraction.add(r, r.at);
      byCount.add(r, r.at, true);
    }
    assert.ok(Math.abs((byCount.loss ?? -1) - 0.05) <= 0.01, `counted: ${byCount.loss}`);
    assert.ok((byFraction.loss ?? 0) > 0.07, `by fractions it reads high: ${byFraction.loss}`);
  });

  test("changing how reports are read starts a new window", () => {
    const m = new LossMeter();
    m.add({ packetsLost: 0, highestSequence: 100, fractionLost: 0 }, 0);
    m.add({ packetsLost: 0, highestSequence: 150, fractionLost: 255 }, 500);
    m.add({ packetsLost: 40, highestSequence: 200, fractionLost: 0 }, 1000, true);
    m.add({ packetsLost: 45, highestSequence: 250, fractionLost: 0 }, 1500, true);
    assert.equal(m.loss, 0.1, "5 of 50, counted");
  });
});
