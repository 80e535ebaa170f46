import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { DownTrack } from "./down-track.js";
import { isKeyframeStart } from "./keyframe.js";
import { UpTrack } from "./up-track.js";
import { PictureGuard } from "./picture-guard.js";
import { isVp9KeyframeStart, parseVp9Descriptor, vp9HeaderSize, vp9KeyframeSize, Vp9Munger, vp9SuperframeFrames, vp9Temporal } from "./vp9.js";

interface Vp9Fields {
  /** Picture ID (15 bits unless `bits` says 7), or undefined for none. */
  pid?: number;
  bits?: 7 | 15;
  /** Inter-picture predicted (P); false makes a keyframe's packet. */
  inter?: boolean;
  start?: boolean;
  end?: boolean;
  /** Layer indices: TID, switching-up point, SID; TL0PICIDX unless flexible. */
  tid?: number;
  up?: boolean;
  sid?: number;
  tl0?: number;
  flexible?: boolean;
  /** Flexible mode's reference differences (P_DIFF). */
  refs?: number[];
  /** A scalability structure with these sizes and, with `gof`, a group of pictures (TID, U, P_DIFFs each). */
  sizes?: Array<[number, number]>;
  gof?: Array<{ tid: number; up: boolean; refs: number[] }>;
  body?: Buffer;
}

/** A VP9 payload: the descriptor the fields describe, then `body`. */
function vp9(o: Vp9Fields): Buffer {
  const bits = o.bits ?? 15;
  const layers = o.tid !== undefined;
  const ss = o.sizes !== undefined || o.gof !== undefined;
  const b0 =
    (o.pid !== undefined ? 0x80 : 0) |
    (o.inter === false ? 0 : 0x40) |
    (layers ? 0x20 : 0) |
    (o.flexible ? 0x10 : 0) |
    (o.start ? 0x08 : 0) |
    (o.end ? 0x04 : 0) |
    (ss ? 0x02 : 0);
  const bytes = [b0];
  if (o.pid !== undefined) {
    if (bits === 15) bytes.push(0x80 | (o.pid >> 8), o.pid & 0xff);
    else bytes.push(o.pid & 0x7f);
  }
  if (layers) {
    bytes.push(((o.tid ?? 0) << 5) | (o.up ? 0x10 : 0) | ((o.sid ?? 0) << 1));
    if (!o.flexible) bytes.push(o.tl0 ?? 0);
  }
  if (o.flexible && o.inter !== false) (o.refs ?? [1]).forEach((r, i, all) => bytes.push((r << 1) | (i < all.length - 1 ? 1 : 0)));
  if (ss) {
    const sizes = o.sizes ?? [];
    bytes.push((Math.max(sizes.length - 1, 0) << 5) | (sizes.length > 0 ? 0x10 : 0) | (o.gof ? 0x08 : 0));
    for (const [w, h] of sizes) bytes.push(w >> 8, w & 0xff, h >> 8, h & 0xff);
    if (o.gof) {
      bytes.push(o.gof.length);
      for (const g of o.gof) bytes.push((g.tid << 5) | (g.up ? 0x10 : 0) | (g.refs.length << 2), ...g.refs);
    }
  }
  return Buffer.concat([Buffer.from(bytes), o.body ?? Buffer.from([1, 2, 3])]);
}

/** libwebrtc's group of pictures for L1T3 in non-flexible mode: TIDs 0, 2, 1, 2. */
const L1T3_GOF = [
  { tid: 0, up: false, refs: [4] },
  { tid: 2, up: true, refs: [1] },
  { tid: 1, up: true, refs: [2] },
  { tid: 2, up: false, refs: [1] },
];

describe("VP9 payload descriptor", () => {
  test("reads the picture ID, layer indices, TL0PICIDX and a keyframe's scalability structure", () => {
    const key = vp9({ pid: 0x1234, inter: false, start: true, tid: 0, sid: 0, tl0: 7, sizes: [[1280, 720]], gof: L1T3_GOF });
    const d = parseVp9Descriptor(key)!;
    assert.equal(d.pictureIdBits, 15);
    assert.equal(d.pictureId, 0x1234);
    assert.equal(d.interPicture, false);
    assert.equal(d.frameStart, true);
    assert.equal(d.tl0PicIdx, 7);
    assert.deepEqual(d.sizes, [{ width: 1280, height: 720 }]);
    // 1 + 2 (PID) + 2 (layers, TL0PICIDX) + 1 (SS) + 4 (size) + 1 (N_G) + 4 pictures of 2 bytes.
    assert.equal(d.length, 19);
    const inter = parseVp9Descriptor(vp9({ pid: 9, bits: 7, tid: 2, up: true, sid: 0, tl0: 8, start: true }))!;
    assert.deepEqual([inter.pictureIdBits, inter.pictureId, inter.tid, inter.switchingUp, inter.tl0PicIdx, inter.length], [7, 9, 2, true, 8, 4]);
    const flexible = parseVp9Descriptor(vp9({ pid: 300, flexible: true, tid: 1, refs: [1, 2] }))!;
    assert.deepEqual([flexible.flexible, flexible.tl0PicIdx, flexible.length], [true, -1, 6], "P_DIFFs read, no TL0PICIDX");
  });

  test("a payload shorter than its bits announce is refused, never read past its end", () => {
    const whole = vp9({ pid: 0x1234, inter: false, start: true, tid: 0, tl0: 7, sizes: [[640, 360]], gof: L1T3_GOF, body: Buffer.alloc(0) });
    for (let n = 0; n < whole.length; n++) assert.equal(parseVp9Descriptor(whole.subarray(0, n)), undefined, `${n} of ${whole.length} bytes`);
    assert.ok(parseVp9Descriptor(whole));
    // A third reference difference that says another follows ends them all the same, as GStreamer's depayloader reads it.
    const endless = Buffer.from([0x90 | 0x40, 0x05, 0x03, 0x03, 0x03, 0x03]);
    assert.equal(parseVp9Descriptor(endless)?.length, 5, "three reference differences at most");
  });

  test("a keyframe starts with B set, P clear, on the lowest spatial layer; its size is the top layer's", () => {
    const key = vp9({
      pid: 1,
      inter: false,
      start: true,
      tid: 0,
      sid: 0,
      tl0: 0,
      sizes: [
        [320, 180],
        [640, 360],
      ],
    });
    assert.equal(isVp9KeyframeStart(key), true);
    assert.equal(isKeyframeStart("video/vp9", key), true);
    assert.deepEqual(vp9KeyframeSize(key), { width: 640, height: 360 });
    assert.equal(isVp9KeyframeStart(vp9({ pid: 1, inter: false, start: false, tid: 0 })), false, "not the frame's first packet");
    assert.equal(isVp9KeyframeStart(vp9({ pid: 1, inter: true, start: true, tid: 0 })), false, "inter-predicted");
    assert.equal(isVp9KeyframeStart(vp9({ pid: 1, inter: false, start: true, tid: 0, sid: 1 })), false, "an upper spatial layer");
    assert.equal(isVp9KeyframeStart(vp9({ inter: false, start: true })), true, "no picture ID or layers");
    assert.equal(vp9KeyframeSize(vp9({ pid: 1, inter: false, start: true })), undefined, "no scalability structure");
    assert.equal(isVp9KeyframeStart(Buffer.from([0x88 | 0x20])), false, "too short for its layer byte");
  });

  test("vp9Temporal reads TID, the switching-up point and frame start without allocating; -1 without layer indices", () => {
    assert.equal(vp9Temporal(vp9({ pid: 5, tid: 2, up: true, tl0: 1, start: true })), 2 | 4 | 8);
    assert.equal(vp9Temporal(vp9({ pid: 5, bits: 7, tid: 1, tl0: 1 })), 1);
    assert.equal(vp9Temporal(vp9({ pid: 5 })), -1);
    assert.equal(vp9Temporal(vp9({ pid: 5, tid: 6, tl0: 1 })), 3, "a TID above 3 reads as 3");
    assert.equal(vp9Temporal(Buffer.from([0xa0, 0x85])), -1, "too short for its layer byte");
  });
});

describe("Vp9Munger", () => {
  const pidOf = (p: Buffer) => parseVp9Descriptor(p)!.pictureId;
  const tl0Of = (p: Buffer) => parseVp9Descriptor(p)!.tl0PicIdx;

  test("after a switch the picture ID and TL0PICIDX continue at last + 1; the shared payload is not written", () => {
    const m = new Vp9Munger();
    for (let pid = 1000; pid <= 1010; pid++) {
      const p = vp9({ pid, tid: 0, tl0: 40 + (pid - 1000) });
      assert.equal(m.munge(p), p, "one source passes through");
    }
    m.switchSource();
    const first = vp9({ pid: 77, inter: false, start: true, tid: 0, tl0: 200, sizes: [[320, 180]], gof: L1T3_GOF });
    const copy = Buffer.from(first);
    const out = m.munge(first);
    assert.deepEqual(first, copy, "the input is untouched");
    assert.equal(pidOf(out), 1011);
    assert.equal(tl0Of(out), 51);
    assert.deepEqual(vp9KeyframeSize(out), { width: 320, height: 180 }, "the rest of the descriptor reads the same");
    assert.equal(pidOf(m.munge(vp9({ pid: 78, tid: 2, tl0: 200 }))), 1012);
    assert.equal(tl0Of(m.munge(vp9({ pid: 79, tid: 0, tl0: 201 }))), 52);
  });

  test("pictures not forwarded leave their gap: a group's places and flexible references stay as sent", () => {
    const m = new Vp9Munger();
    m.munge(vp9({ pid: 10, tid: 0, tl0: 1 }));
    m.dropPicture(vp9({ pid: 11, tid: 2, tl0: 1 }));
    assert.equal(pidOf(m.munge(vp9({ pid: 12, tid: 1, tl0: 1 }))), 12);
    m.switchSource();
    assert.equal(pidOf(m.munge(vp9({ pid: 500, inter: false, start: true, tid: 0, tl0: 9 }))), 13);
    m.dropPicture(vp9({ pid: 501, tid: 2, tl0: 9 }));
    assert.equal(pidOf(m.munge(vp9({ pid: 502, tid: 1, tl0: 9 }))), 15, "the offset of the switch, the gap kept");
  });

  test("continuity across the wrap of both fields (7- and 15-bit)", () => {
    const m = new Vp9Munger();
    m.munge(vp9({ pid: 0x7ffe, tid: 0, tl0: 254 }));
    m.switchSource();
    const seen = [0x10, 0x10, 0x11, 0x12].map((pid, i) => m.munge(vp9({ pid, tid: 0, tl0: 9 + (i >= 2 ? 1 : 0) })));
    assert.deepEqual(seen.map(pidOf), [0x7fff, 0x7fff, 0, 1]);
    assert.deepEqual(seen.map(tl0Of), [255, 255, 0, 0]);
    const short = new Vp9Munger();
    short.munge(vp9({ pid: 126, bits: 7 }));
    short.switchSource();
    assert.deepEqual(
      [5, 6, 7].map((pid) => pidOf(short.munge(vp9({ pid, bits: 7 })))),
      [127, 0, 1],
    );
  });
});

describe("VP9 temporal layers through a DownTrack", () => {
  /** An L1T3 stream in libwebrtc's group of pictures (TIDs 0, 2, 1, 2), two packets a frame; a keyframe first when asked. */
  function stream(up: UpTrack, frames: Array<{ tid: number; up?: boolean; key?: boolean }>, at: { seq: number; pid: number; tl0: number }): void {
    for (const f of frames) {
      if (f.tid === 0) at.tl0 = (at.tl0 + 1) & 0xff;
      const first = vp9({
        pid: at.pid,
        inter: !f.key,
        start: true,
        tid: f.tid,
        up: f.up,
        tl0: at.tl0,
        ...(f.key ? { sizes: [[640, 360]] as Array<[number, number]>, gof: L1T3_GOF } : {}),
      });
      up.push(at.seq++ & 0xffff, at.pid * 3000, false, first);
      up.push(at.seq++ & 0xffff, at.pid * 3000, true, vp9({ pid: at.pid, inter: !f.key, end: true, tid: f.tid, up: f.up, tl0: at.tl0 }));
      at.pid = (at.pid + 1) & 0x7fff;
    }
  }
  const gop = [{ tid: 0 }, { tid: 2, up: true }, { tid: 1, up: true }, { tid: 2 }];

  test("the base layer only: a quarter of the frames, sequence numbers without a gap, picture IDs four apart; a climb waits for a switching-up frame", () => {
    let keyframes = 0;
    let clock = 0;
    const timers = { now: () => clock, setTimeout: () => 0, clearTimeout: () => {} };
    const up = new UpTrack({ id: "v", codec: { kind: "video", mimeType: "video/vp9", clockRate: 90000 }, requestKeyframe: () => keyframes++, timers });
    const out: Array<{ seq: number; pid: number; tid: number }> = [];
    const down = new DownTrack(up.codec, {
      send: (p, seq) => {
        const d = parseVp9Descriptor(p.payload)!;
        out.push({ seq, pid: d.pictureId, tid: d.tid });
      },
    });
    down.setSource(up);
    down.setTemporal(0);
    const at = { seq: 65530, pid: 0x7ffd, tl0: 254 };
    stream(up, [{ tid: 0, key: true }, ...gop.slice(1)], at);
    for (let i = 0; i < 3; i++) stream(up, gop, at);
    assert.equal(up.frameSize?.width, 640, "the keyframe's scalability structure gave the size");
    assert.equal(up.temporalLayers, 3);
    assert.deepEqual(
      out.map((o) => o.tid),
      [0, 0, 0, 0, 0, 0, 0, 0],
      "only base-layer frames, both packets of each",
    );
    const seqs = out.map((o) => o.seq);
    assert.ok(
      seqs.slice(1).every((s, i) => s === ((seqs[i] + 1) & 0xffff)),
      `sequence numbers without a gap (across the wrap): ${seqs.join(",")}`,
    );
    const pids = [...new Set(out.map((o) => o.pid))];
    assert.ok(
      pids.slice(1).every((p, i) => p === ((pids[i] + 4) & 0x7fff)),
      `picture IDs keep their places in the group (across the wrap): ${pids.join(",")}`,
    );
    assert.equal(down.stats.droppedTemporal, 24);

    clock += 1000;
    down.setTemporal(2);
    const n = out.length;
    // The TL2 frame after the base one has U set and is the first climb point here: a TL2 frame without it would have to wait.
    stream(up, [{ tid: 0 }, { tid: 2 }, { tid: 1, up: true }, { tid: 2 }, { tid: 0 }, { tid: 2, up: true }], at);
    assert.deepEqual(
      out
        .slice(n)
        .filter((_, i) => i % 2 === 0)
        .map((o) => o.tid),
      [0, 1, 2, 0, 2],
      "the TL2 frame before the switching-up frame is still dropped",
    );
    assert.ok(
      out.map((o) => o.seq).every((s, i, all) => i === 0 || s === ((all[i - 1] + 1) & 0xffff)),
      "still no gap in sequence numbers",
    );
    up.close();
  });
});

describe("the size a VP9 frame header sets", () => {
  // The first bytes of frames libvpx made (GStreamer vp9enc): a 640x360 I420 keyframe (profile 0), the inter frame after
  // it, and a 1280x720 Y444 keyframe (profile 1, whose colour config carries subsampling bits).
  const key640 = Buffer.from("824983422027f016761038241c18aa10", "hex");
  const inter640 = Buffer.from("86004092f001550400fa7fd3ec79f7eb", "hex");
  const key1280 = Buffer.from("a24983424009fe059ec0c70483832a83", "hex");
  const first = (body: Buffer, inter = false) => vp9({ pid: 1, inter, start: true, tid: 0, tl0: 0, body });

  /** An inter frame header that sets its own size instead of taking a reference's (profile 0, shown, not error resilient). */
  function interWithSize(width: number, height: number): Buffer {
    const fields: Array<[number, number]> = [
      [2, 2],
      [0, 2],
      [0, 1],
      [1, 1],
      [1, 1],
      [0, 1],
      [0, 2],
      [1, 8],
      [0, 12],
      [0, 3],
      [width - 1, 16],
      [height - 1, 16],
    ];
    let bits = "";
    for (const [v, n] of fields) bits += v.toString(2).padStart(n, "0");
    bits = bits.padEnd(Math.ceil(bits.length / 8) * 8 + 16, "0");
    return Buffer.from(bits.match(/.{8}/g)!.map((b) => parseInt(b, 2)));
  }

  /** What the header after `payload`'s descriptor says of the size. */
  const headerSize = (payload: Buffer) => vp9HeaderSize(payload, parseVp9Descriptor(payload)!.length);

  test("a keyframe's size, in profile 0 and 1; an inter frame that takes a reference's size keeps it", () => {
    assert.deepEqual(headerSize(first(key640)), { width: 640, height: 360 });
    assert.deepEqual(headerSize(first(key1280)), { width: 1280, height: 720 });
    assert.equal(headerSize(first(inter640, true)), "kept");
    assert.deepEqual(headerSize(first(interWithSize(16000, 9000), true)), { width: 16000, height: 9000 }, "an inter frame with a size of its own");
  });

  test("a header cut short, or without its frame marker or sync code, cannot be read", () => {
    // The keyframe's size ends in its ninth byte (2 + 2 + 4 + 24 + 4 + 32 bits).
    for (let n = 0; n < 9; n++) assert.equal(headerSize(first(key640.subarray(0, n))), undefined, `${n} header bytes`);
    assert.deepEqual(headerSize(first(key640.subarray(0, 9))), { width: 640, height: 360 });
    assert.equal(headerSize(first(Buffer.from("c24983422027f016", "hex"))), undefined, "not a frame marker");
    assert.equal(headerSize(first(Buffer.from("82498300", "hex"))), undefined, "no sync code");
  });

  /** Frames joined into a superframe, with its index (two bytes per size). */
  function superframe(frames: Buffer[]): Buffer {
    const marker = 0xc0 | (1 << 3) | (frames.length - 1);
    const sizes = frames.flatMap((f) => [f.length & 0xff, f.length >> 8]);
    return Buffer.concat([...frames, Buffer.from([marker, ...sizes, marker])]);
  }

  test("a superframe index lists its frames; one claiming more bytes than there are does not add up; none, no index", () => {
    const sf = superframe([key640, interWithSize(4000, 4000)]);
    assert.deepEqual(vp9SuperframeFrames(sf), [
      [0, key640.length],
      [key640.length, interWithSize(4000, 4000).length],
    ]);
    const lying = Buffer.from(sf);
    lying[sf.length - 4] = 0xff; // the first frame's size, low byte
    assert.equal(vp9SuperframeFrames(lying), null);
    assert.equal(vp9SuperframeFrames(key640), undefined);
    assert.equal(vp9SuperframeFrames(Buffer.from([1, 2, 0xc8])), undefined, "a last byte like a marker without its twin");
  });

  test("a server-side decoder is never handed a VP9 picture larger than allowed, by its keyframe or by an inter frame", () => {
    const refused: string[] = [];
    const guard = new PictureGuard({ width: 1920, height: 1080 }, (s) => refused.push(`${s.width}x${s.height}`));
    const packet = (payload: Buffer) => ({
      sequenceNumber: 1,
      timestamp: 1,
      marker: false,
      payload,
      keyframe: isVp9KeyframeStart(payload),
      temporal: -1,
      receivedAt: 0,
    });
    assert.equal(guard.admit("video/vp9", packet(first(key640))), true);
    assert.equal(guard.admit("video/vp9", packet(first(interWithSize(4000, 4000), true))), false, "an inter frame growing past the bound");
    assert.equal(guard.admit("video/vp9", packet(vp9({ pid: 2, tid: 0, tl0: 0, end: true }))), false, "the rest of that frame too");
    assert.equal(guard.admit("video/vp9", packet(first(key640))), true, "the next keyframe within bounds");
    const claimed = vp9({ pid: 3, inter: false, start: true, tid: 0, tl0: 1, sizes: [[16000, 16000]], body: key640 });
    assert.equal(guard.admit("video/vp9", packet(claimed)), false, "a scalability structure claiming more than the header");
    assert.deepEqual(refused, ["4000x4000", "16000x16000"]);
    assert.equal(guard.admit("video/vp9", packet(first(key640))), true);
    assert.equal(guard.admit("video/vp9", packet(first(Buffer.from("c24983", "hex")))), false, "a first packet whose header cannot be read");
    assert.equal(guard.admit("video/vp9", packet(Buffer.from([0xa0]))), false, "a descriptor cut short");
    assert.equal(guard.admit("video/vp9", packet(first(inter640, true))), true, "and the stream goes on");
  });

  test("a superframe hiding a large frame behind a small one is refused in its last packet, wherever its frames start", () => {
    const refused: string[] = [];
    const guard = new PictureGuard({ width: 1920, height: 1080 }, (s) => refused.push(`${s.width}x${s.height}`));
    let seq = 100;
    const send = (payload: Buffer, marker: boolean) =>
      guard.admit("video/vp9", { sequenceNumber: seq++, timestamp: 1, marker, payload, keyframe: isVp9KeyframeStart(payload), temporal: -1, receivedAt: 0 });
    // Split in three packets: the small keyframe's header first, the large frame's header in the middle one, the index last.
    const sf = superframe([key640, interWithSize(16000, 9000)]);
    const parts = [sf.subarray(0, 12), sf.subarray(12, 20), sf.subarray(20)];
    assert.equal(send(first(parts[0]), false), true, "its first packet shows only the small keyframe");
    assert.equal(send(vp9({ pid: 1, inter: false, tid: 0, tl0: 0, body: parts[1] }), false), true);
    assert.equal(send(vp9({ pid: 1, inter: false, tid: 0, tl0: 0, end: true, body: parts[2] }), true), false, "refused where the frame is handed on");
    assert.deepEqual(refused, ["16000x9000"]);

    // A superframe of two small frames goes through; one with a packet missing does not.
    const ok = superframe([key640, inter640]);
    assert.equal(send(first(ok.subarray(0, 20)), false), true);
    assert.equal(send(vp9({ pid: 2, tid: 0, tl0: 0, end: true, body: ok.subarray(20) }), true), true, "two frames within bounds");
    assert.equal(send(first(ok.subarray(0, 20)), false), true);
    seq++;
    assert.equal(send(vp9({ pid: 3, tid: 0, tl0: 0, end: true, body: ok.subarray(20) }), true), false, "a packet of it missing: it cannot be read whole");
    // A frame whose last byte only looks like a superframe marker is an ordinary frame.
    assert.equal(send(first(Buffer.concat([key640, Buffer.from([0xc8])])), true), true);
  });
});
