import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { parseVp8Descriptor, vp8KeyframeSize, Vp8Munger } from "./vp8.js";

/** A VP8 payload: descriptor with a 15- or 7-bit picture ID, TL0PICIDX and TID, then `body`. */
function vp8(o: { pid: number; bits?: 7 | 15; tl0?: number; tid?: number; sync?: boolean; start?: boolean; body?: Buffer }): Buffer {
  const bits = o.bits ?? 15;
  const x = 0x80 | (o.tl0 !== undefined ? 0x40 : 0) | (o.tid !== undefined ? 0x20 : 0);
  const bytes = [0x80 | (o.start ? 0x10 : 0), x];
  if (bits === 15) bytes.push(0x80 | (o.pid >> 8), o.pid & 0xff);
  else bytes.push(o.pid & 0x7f);
  if (o.tl0 !== undefined) bytes.push(o.tl0);
  if (o.tid !== undefined) bytes.push((o.tid << 6) | (o.sync ? 0x20 : 0));
  return Buffer.concat([Buffer.from(bytes), o.body ?? Buffer.from([1, 2, 3])]);
}

/** The start of a keyframe of `width`×`height`: frame tag (P=0), start code, sizes. */
function keyframeBody(width: number, height: number): Buffer {
  const b = Buffer.alloc(12);
  b[0] = 0x10; // P=0: key frame
  b[3] = 0x9d;
  b[4] = 0x01;
  b[5] = 0x2a;
  b.writeUInt16LE(width, 6);
  b.writeUInt16LE(height, 8);
  return b;
}

describe("VP8 payload descriptor", () => {
  test("reads 15- and 7-bit picture IDs, TL0PICIDX, TID and the layer sync bit", () => {
    const d = parseVp8Descriptor(vp8({ pid: 0x1234, tl0: 7, tid: 2, sync: true, start: true }));
    assert.deepEqual(d, { pictureIdBits: 15, pictureIdAt: 2, pictureId: 0x1234, tl0At: 4, tl0PicIdx: 7, tid: 2, layerSync: true, length: 6, frameStart: true });
    const s = parseVp8Descriptor(vp8({ pid: 100, bits: 7 }));
    assert.equal(s?.pictureIdBits, 7);
    assert.equal(s?.pictureId, 100);
    assert.equal(s?.length, 3);
    assert.equal(parseVp8Descriptor(Buffer.from([0x10]))?.pictureIdBits, 0, "no extension");
  });
  test("a payload shorter than its bits announce is refused, never read past its end", () => {
    for (const bad of [Buffer.alloc(0), Buffer.from([0x80]), Buffer.from([0x80, 0x80]), Buffer.from([0x80, 0x80, 0x80]), Buffer.from([0x80, 0x40])]) {
      assert.equal(parseVp8Descriptor(bad), undefined, bad.toString("hex"));
    }
  });
  test("a keyframe's first packet tells its size; other packets do not", () => {
    assert.deepEqual(vp8KeyframeSize(vp8({ pid: 1, start: true, body: keyframeBody(1280, 720) })), { width: 1280, height: 720 });
    assert.equal(vp8KeyframeSize(vp8({ pid: 1, start: false, body: keyframeBody(1280, 720) })), undefined, "not a frame start");
    const inter = keyframeBody(1280, 720);
    inter[0] |= 1;
    assert.equal(vp8KeyframeSize(vp8({ pid: 1, start: true, body: inter })), undefined, "an inter frame");
  });
});

describe("Vp8Munger", () => {
  const pidOf = (p: Buffer) => parseVp8Descriptor(p)!.pictureId;
  const tl0Of = (p: Buffer) => parseVp8Descriptor(p)!.tl0PicIdx;

  test("one source passes through untouched (the same buffer)", () => {
    const m = new Vp8Munger();
    for (let pid = 500; pid < 510; pid++) {
      const p = vp8({ pid, tl0: pid & 0xff });
      assert.equal(m.munge(p), p);
    }
  });
  test("after a switch the picture ID and TL0PICIDX continue at last + 1; the shared payload is not written", () => {
    const m = new Vp8Munger();
    for (let pid = 1000; pid <= 1010; pid++) m.munge(vp8({ pid, tl0: 40 + (pid - 1000) }));
    m.switchSource();
    const first = vp8({ pid: 77, tl0: 200, tid: 0, start: true, body: keyframeBody(320, 180) });
    const copy = Buffer.from(first);
    const out = m.munge(first);
    assert.deepEqual(first, copy, "the input is untouched");
    assert.equal(pidOf(out), 1011);
    assert.equal(tl0Of(out), 51);
    assert.deepEqual(out.subarray(7), first.subarray(7), "the rest of the packet is the same");
    assert.deepEqual(vp8KeyframeSize(out), { width: 320, height: 180 });
    // Later packets of the new source keep the offset.
    assert.equal(pidOf(m.munge(vp8({ pid: 78, tl0: 201 }))), 1012);
    assert.equal(tl0Of(m.munge(vp8({ pid: 79, tl0: 201 }))), 52);
  });
  test("continuity across the wrap of both fields, and packets of one picture share its ID", () => {
    const m = new Vp8Munger();
    m.munge(vp8({ pid: 0x7ffe, tl0: 254 }));
    m.switchSource();
    const seen = [0x10, 0x10, 0x11, 0x12].map((pid, i) => m.munge(vp8({ pid, tl0: 9 + (i >= 2 ? 1 : 0) })));
    assert.deepEqual(seen.map(pidOf), [0x7fff, 0x7fff, 0, 1]);
    assert.deepEqual(seen.map(tl0Of), [255, 255, 0, 0]);
  });
  test("7-bit picture IDs wrap at 128", () => {
    const m = new Vp8Munger();
    m.munge(vp8({ pid: 126, bits: 7 }));
    m.switchSource();
    const out = [5, 6, 7].map((pid) => pidOf(m.munge(vp8({ pid, bits: 7 }))));
    assert.deepEqual(out, [127, 0, 1]);
  });
  test("a reordered packet of the new source does not move the counter back", () => {
    const m = new Vp8Munger();
    m.munge(vp8({ pid: 10 }));
    m.switchSource();
    m.munge(vp8({ pid: 300 }));
    m.munge(vp8({ pid: 302 }));
    assert.equal(pidOf(m.munge(vp8({ pid: 301 }))), 12, "late, but mapped with the same offset");
    m.switchSource();
    assert.equal(pidOf(m.munge(vp8({ pid: 5 }))), 14, "continues after the highest sent");
  });
});
