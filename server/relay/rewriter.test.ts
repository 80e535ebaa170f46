import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { RtpRewriter } from "./rewriter.js";
import { seqDiff } from "./rtp.js";

describe("RtpRewriter", () => {
  test("passes numbers through unchanged in the first epoch", () => {
    const r = new RtpRewriter(90000);
    assert.deepEqual(r.rewrite(1000, 5000, 0), { sequenceNumber: 1000, timestamp: 5000 });
    assert.deepEqual(r.rewrite(1001, 8000, 33), { sequenceNumber: 1001, timestamp: 8000 });
  });

  test("keeps gaps and reordering inside an epoch, so NACKs keep meaning", () => {
    const r = new RtpRewriter(90000);
    r.rewrite(10, 0, 0);
    assert.equal(r.rewrite(13, 0, 1)?.sequenceNumber, 13);
    assert.equal(r.rewrite(12, 0, 2)?.sequenceNumber, 12);
  });

  test("continues at last+1 across a source switch, with the timestamp advanced by wall time", () => {
    const r = new RtpRewriter(90000);
    r.rewrite(500, 90000, 1000);
    r.rewrite(501, 93000, 1033);
    r.switchSource();
    const out = r.rewrite(40000, 7, 2033); // 1000 ms later, unrelated numbers
    assert.deepEqual(out, { sequenceNumber: 502, timestamp: 93000 + 90000 });
    assert.deepEqual(r.rewrite(40001, 3007, 2066), { sequenceNumber: 503, timestamp: 93000 + 90000 + 3000 });
  });

  test("restartAfter: the next packet continues right after the number given, whatever was numbered since", () => {
    const r = new RtpRewriter(90000);
    r.rewrite(100, 9000, 1000);
    r.rewrite(101, 12000, 1033);
    r.restartAfter(99, 9000, 1000);
    assert.deepEqual(r.rewrite(250, 54000, 1500), { sequenceNumber: 100, timestamp: 9000 + 45000 });
    assert.equal(r.rewrite(101, 12000, 1501), undefined, "a packet from before the restart is dropped");
    assert.deepEqual(r.rewrite(251, 57000, 1533), { sequenceNumber: 101, timestamp: 9000 + 48000 });
  });

  test("wraps sequence numbers and timestamps around", () => {
    const r = new RtpRewriter(48000);
    r.rewrite(65534, 0xffffff00, 0);
    r.switchSource();
    const a = r.rewrite(100, 1, 20)!; // continues at 65535
    assert.equal(a.sequenceNumber, 65535);
    assert.equal(a.timestamp, (0xffffff00 + 960) >>> 0);
    const b = r.rewrite(101, 961, 40)!;
    assert.equal(b.sequenceNumber, 0);
    assert.equal(b.timestamp, (0xffffff00 + 1920) >>> 0);
    const c = r.rewrite(102, 1921, 60)!;
    assert.equal(seqDiff(c.sequenceNumber, b.sequenceNumber), 1);
    assert.equal((c.timestamp - b.timestamp) >>> 0, 960);
  });

  test("an input that wraps inside an epoch keeps the output strictly increasing", () => {
    const r = new RtpRewriter(90000);
    r.rewrite(1, 0, 0);
    r.switchSource();
    let prev = r.rewrite(65530, 0, 10)!.sequenceNumber;
    for (let i = 1; i < 12; i++) {
      const s = r.rewrite((65530 + i) & 0xffff, i * 3000, 10 + i)!.sequenceNumber;
      assert.equal(seqDiff(s, prev), 1);
      prev = s;
    }
  });

  test("drops packets from before the first packet of a new epoch", () => {
    const r = new RtpRewriter(90000);
    r.rewrite(10, 0, 0);
    r.switchSource();
    r.rewrite(2000, 0, 10);
    assert.equal(r.rewrite(1999, 0, 11), undefined);
    assert.ok(r.rewrite(2001, 0, 12));
  });

  test("advances the timestamp by at least one tick across an instant switch", () => {
    const r = new RtpRewriter(90000);
    r.rewrite(1, 1000, 50);
    r.switchSource();
    assert.equal(r.rewrite(9, 1000, 50)!.timestamp, 1001);
  });

  test("dropped packets leave no gap; a late packet from before a drop keeps its own number", () => {
    const r = new RtpRewriter(90000);
    assert.equal(r.rewrite(100, 0, 0)!.sequenceNumber, 100);
    r.drop(101);
    r.drop(102);
    assert.equal(r.rewrite(104, 0, 1)!.sequenceNumber, 102, "103 is a loss the viewer still sees; the drops are not");
    assert.equal(r.rewrite(103, 0, 2)!.sequenceNumber, 101, "a late packet: numbered as it would have been");
    r.drop(99);
    assert.equal(r.rewrite(105, 0, 3)!.sequenceNumber, 103, "a drop older than the newest changes nothing");
    r.switchSource();
    r.rewrite(5000, 0, 4);
    assert.equal(r.rewrite(5001, 0, 5)!.sequenceNumber, 105);
  });

  test("an epoch longer than the sequence circle keeps going; a packet far behind the newest is dropped", () => {
    const r = new RtpRewriter(90000);
    let prev = r.rewrite(1000, 0, 0)!.sequenceNumber;
    // Three times round the 16-bit circle in one epoch: every packet goes out, one after the other.
    for (let i = 1; i < 3 * 65536; i++) {
      const out = r.rewrite((1000 + i) & 0xffff, i * 3000, i);
      assert.ok(out, `packet ${i} forwarded`);
      assert.equal(seqDiff(out.sequenceNumber, prev), 1);
      prev = out.sequenceNumber;
    }
    const newest = (1000 + 3 * 65536 - 1) & 0xffff;
    assert.ok(r.rewrite((newest - 100) & 0xffff, 0, 0), "a late packet within the window goes out");
    assert.equal(r.rewrite((newest - 20000) & 0xffff, 0, 0), undefined, "one 20000 behind does not");
  });

  test("drops long past do not shift the numbers of late packets round the circle later", () => {
    const r = new RtpRewriter(90000);
    r.rewrite(0, 0, 0);
    r.rewrite(1, 0, 0);
    r.drop(2);
    for (let i = 3; i < 40000; i++) r.rewrite(i, 0, 0);
    // Output = input - 1 now; a late packet keeps that offset, 32768 on from the drop too.
    assert.equal(r.rewrite(39990, 0, 0)!.sequenceNumber, 39989);
  });

  test("padding takes the next number past any loss and the newest timestamp; late packets keep theirs, and it wraps", () => {
    const r = new RtpRewriter(90000);
    assert.equal(r.pad(), undefined, "nothing to follow yet");
    r.rewrite(65533, 3000, 0);
    r.rewrite(65535, 6000, 33); // 65534 lost on the way in: its number stays free for it
    assert.deepEqual(r.pad(), { sequenceNumber: 0, timestamp: 6000 });
    assert.deepEqual(r.pad(), { sequenceNumber: 1, timestamp: 6000 });
    assert.equal(r.rewrite(65534, 3000, 40)!.sequenceNumber, 65534, "the late packet keeps its number");
    r.drop(0);
    assert.deepEqual(r.rewrite(1, 9000, 66), { sequenceNumber: 2, timestamp: 9000 }, "after the padding and the drop");
    assert.equal(r.rewrite(65535, 6000, 70)!.sequenceNumber, 65535, "a duplicate from before the padding: its own number");
    assert.deepEqual(r.pad(), { sequenceNumber: 3, timestamp: 9000 });
    r.switchSource();
    assert.equal(r.rewrite(500, 0, 100)!.sequenceNumber, 4, "a new epoch continues after the padding");
  });
});
