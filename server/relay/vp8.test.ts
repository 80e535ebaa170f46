import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { DownTrack } from "./down-track.js";
import { UpTrack } from "./up-track.js";
import { parseVp8Descriptor, vp8KeyframeSize, Vp8Munger, vp8Temporal } from "./vp8.js";

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
  test("a dropped picture long past does not shift later picture IDs when the ID goes round (7 and 15 bits)", () => {
    for (const bits of [7, 15] as const) {
      const m = new Vp8Munger();
      m.munge(vp8({ pid: 0, bits }));
      m.dropPicture(vp8({ pid: 1, bits }));
      let prev = pidOf(m.munge(vp8({ pid: 2, bits })));
      const circle = bits === 15 ? 0x8000 : 0x80;
      for (let pid = 3; pid < 3 * circle; pid++) {
        const out = pidOf(m.munge(vp8({ pid: pid % circle, bits })));
        assert.equal(out, (prev + 1) % circle, `${bits}-bit picture ${pid}`);
        prev = out;
      }
    }
  });
});

describe("temporal layers", () => {
  test("vp8Temporal reads TID, layer sync and frame start without allocating; -1 without a T bit", () => {
    assert.equal(vp8Temporal(vp8({ pid: 5, tl0: 1, tid: 2, sync: true, start: true })), 2 | 4 | 8);
    assert.equal(vp8Temporal(vp8({ pid: 5, bits: 7, tid: 1 })), 1);
    assert.equal(vp8Temporal(vp8({ pid: 5, tl0: 1 })), -1);
    assert.equal(vp8Temporal(Buffer.from([0x80, 0x20])), -1, "too short for its T byte");
  });

  /** Frames of an L1T3 stream after a keyframe: TIDs 0,2,1,2 repeating, two packets each; sync on the first of each layer. */
  function stream(up: UpTrack, frames: Array<{ tid: number; sync?: boolean; key?: boolean }>, from: { seq: number; pid: number; tl0: number }): void {
    for (const f of frames) {
      if (f.tid === 0) from.tl0 = (from.tl0 + 1) & 0xff;
      const body = f.key ? keyframeBody(640, 360) : Buffer.from([1, 2, 3]);
      up.push(from.seq++ & 0xffff, from.pid * 3000, false, vp8({ pid: from.pid, tl0: from.tl0, tid: f.tid, sync: f.sync, start: true, body }));
      up.push(from.seq++ & 0xffff, from.pid * 3000, true, vp8({ pid: from.pid, tl0: from.tl0, tid: f.tid, body: Buffer.from([9]) }));
      from.pid = (from.pid + 1) & 0x7fff;
    }
  }

  test("a viewer limited to the base layer gets a quarter of the frames, with no gap in sequence numbers or picture IDs; a climb waits for a sync frame", () => {
    let keyframes = 0;
    let clock = 0;
    const timers = { now: () => clock, setTimeout: () => 0, clearTimeout: () => {} };
    const up = new UpTrack({ id: "v", codec: { kind: "video", mimeType: "video/vp8", clockRate: 90000 }, requestKeyframe: () => keyframes++, timers });
    const out: Array<{ seq: number; pid: number; tid: number }> = [];
    const down = new DownTrack(up.codec, {
      send: (p, seq) => {
        const d = parseVp8Descriptor(p.payload)!;
        out.push({ seq, pid: d.pictureId, tid: d.tid });
      },
    });
    down.setSource(up);
    down.setTemporal(0);
    const at = { seq: 65530, pid: 0x7ffd, tl0: 254 };
    stream(up, [{ tid: 0, key: true, sync: true }, { tid: 2, sync: true }, { tid: 1, sync: true }, { tid: 2 }], at);
    for (let i = 0; i < 3; i++) stream(up, [{ tid: 0 }, { tid: 2 }, { tid: 1 }, { tid: 2 }], at);
    assert.deepEqual(
      out.map((o) => o.tid),
      [0, 0, 0, 0, 0, 0, 0, 0],
      "only base-layer frames, both packets of each",
    );
    const consecutive = (xs: number[], mask: number) => xs.slice(1).every((x, i) => x === ((xs[i] + 1) & mask));
    assert.ok(
      consecutive(
        out.map((o) => o.seq),
        0xffff,
      ),
      `sequence numbers without a gap (across the wrap): ${out.map((o) => o.seq).join(",")}`,
    );
    assert.ok(consecutive([...new Set(out.map((o) => o.pid))], 0x7fff), "picture IDs without a gap (across the wrap)");
    assert.equal(down.stats.droppedTemporal, 24);

    // All layers again: frames above the base wait for a layer sync frame.
    const before = keyframes;
    clock += 1000;
    down.setTemporal(2);
    assert.equal(keyframes, before + 1, "a climb asks for a keyframe");
    const n = out.length;
    stream(up, [{ tid: 0 }, { tid: 2 }, { tid: 1, sync: true }, { tid: 2 }, { tid: 0 }, { tid: 2 }], at);
    assert.deepEqual(
      out
        .slice(n)
        .filter((_, i) => i % 2 === 0)
        .map((o) => o.tid),
      [0, 1, 2, 0, 2],
      "the TL2 frame before the sync frame is still dropped",
    );
    assert.ok(
      consecutive(
        out.map((o) => o.seq),
        0xffff,
      ),
      "still no gap",
    );
    assert.ok(consecutive([...new Set(out.map((o) => o.pid))], 0x7fff), "picture IDs still continuous");
    up.close();
  });

  test("the relay measures each temporal layer's share of the rate", () => {
    const up = new UpTrack({ id: "v", codec: { kind: "video", mimeType: "video/vp8", clockRate: 90000 }, requestKeyframe: () => {} });
    const at = { seq: 1, pid: 1, tl0: 0 };
    let t = 0;
    // 2 s of 30 fps: base frames carry 3 times the bytes of the others.
    for (let i = 0; i < 60; i++, t += 33) {
      const tid = [0, 2, 1, 2][i % 4];
      up.push(at.seq++, i * 3000, true, vp8({ pid: at.pid++, tl0: 0, tid, start: true, body: Buffer.alloc(tid === 0 ? 300 : 100) }), t);
    }
    assert.equal(up.temporalLayers, 3);
    const all = up.temporalBitrate(2, t);
    const base = up.temporalBitrate(0, t);
    const two = up.temporalBitrate(1, t);
    assert.ok(all > 0);
    assert.ok(Math.abs(base / all - 306 / 612) < 0.05, `the base layer is half the bytes (${(base / all).toFixed(2)})`);
    assert.ok(base < two && two < all);
  });
});
