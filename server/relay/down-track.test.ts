import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { DownTrack, HOLD_MAX_MS, KEYFRAME_RETRY_MS } from "./down-track.js";
import { fakeTimers } from "./fake-timers.js";
import { UpTrack, type TrackCodec } from "./up-track.js";

const VP8: TrackCodec = { kind: "video", mimeType: "video/vp8", clockRate: 90000 };
const OPUS: TrackCodec = { kind: "audio", mimeType: "audio/opus", clockRate: 48000, channels: 2 };
const KEY = Buffer.from([0x10, 0x00]);
const DELTA = Buffer.from([0x10, 0x01]);

function collect(codec: TrackCodec) {
  const out: Array<{ seq: number; ts: number; payload: Buffer }> = [];
  const down = new DownTrack(codec, { send: (p, seq, ts) => out.push({ seq, ts, payload: p.payload }) });
  return { down, out };
}

describe("DownTrack", () => {
  test("video starts at a keyframe and asks the source for one", () => {
    let requests = 0;
    const up = new UpTrack({ id: "v", codec: VP8, requestKeyframe: () => requests++ });
    const { down, out } = collect(VP8);
    down.setSource(up);
    assert.equal(requests, 1);
    up.push(1, 0, false, DELTA);
    up.push(2, 0, true, DELTA);
    up.push(3, 3000, false, KEY);
    up.push(4, 3000, true, DELTA);
    assert.deepEqual(
      out.map((o) => o.seq),
      [3, 4],
    );
    assert.equal(down.stats.droppedWaitingKeyframe, 2);
    up.close();
  });

  test("a keyframe that does not come is asked for again after KEYFRAME_RETRY_MS, not sooner; the same for a layer switched to", () => {
    let clock = 0;
    const timers = { now: () => clock, setTimeout: () => 0, clearTimeout: () => {} };
    let requests = 0;
    const up = new UpTrack({ id: "v", codec: VP8, requestKeyframe: () => requests++, timers });
    const { down, out } = collect(VP8);
    const t0 = performance.now();
    down.setSource(up);
    assert.equal(requests, 1);
    clock = 10_000; // the source's own 500 ms coalescing is not what is tested
    up.push(1, 0, true, DELTA, t0 + KEYFRAME_RETRY_MS / 2);
    assert.equal(requests, 1, "a delta frame soon after the request: still waiting");
    up.push(2, 3000, true, DELTA, t0 + KEYFRAME_RETRY_MS + 50);
    assert.equal(requests, 2, "asked again once the wait passed KEYFRAME_RETRY_MS");
    up.push(3, 6000, true, DELTA, t0 + KEYFRAME_RETRY_MS + 100);
    assert.equal(requests, 2, "and not again for every packet");
    up.push(4, 9000, true, KEY, t0 + KEYFRAME_RETRY_MS + 150);
    up.push(5, 12000, true, DELTA, t0 + 5 * KEYFRAME_RETRY_MS);
    assert.equal(requests, 2, "flowing: nothing more asked");
    assert.deepEqual(
      out.map((o) => o.seq),
      [4, 5],
    );

    let bRequests = 0;
    clock = 20_000;
    const b = new UpTrack({ id: "b", codec: VP8, requestKeyframe: () => bRequests++, timers });
    const t1 = performance.now();
    down.switchLayer(b);
    assert.equal(bRequests, 1);
    clock = 30_000;
    b.push(50, 0, true, DELTA, t1 + 10);
    assert.equal(bRequests, 1);
    b.push(51, 3000, true, DELTA, t1 + KEYFRAME_RETRY_MS + 10);
    assert.equal(bRequests, 2, "the pending layer is asked again");
    assert.equal(down.pendingTrack, b);
    up.close();
    b.close();
  });

  test("audio flows at once", () => {
    const up = new UpTrack({ id: "a", codec: OPUS, requestKeyframe: () => {} });
    const { down, out } = collect(OPUS);
    down.setSource(up);
    up.push(7, 960, false, Buffer.from([1]));
    assert.equal(out.length, 1);
    up.close();
  });

  test("held: the video from the newest keyframe goes out at release, in order, numbered on and stamped as arriving then", () => {
    let requests = 0;
    const up = new UpTrack({ id: "v", codec: VP8, requestKeyframe: () => requests++ });
    const out: Array<{ seq: number; receivedAt: number }> = [];
    const down = new DownTrack(VP8, { send: (p, seq) => out.push({ seq, receivedAt: p.receivedAt }) });
    down.hold();
    down.setSource(up);
    assert.equal(requests, 1, "the keyframe is asked for while the viewer connects");
    const t0 = performance.now() - 100;
    up.push(1, 0, true, DELTA, t0);
    up.push(2, 3000, true, KEY, t0 + 1);
    up.push(3, 6000, true, DELTA, t0 + 2);
    up.push(4, 9000, true, KEY, t0 + 3);
    up.push(5, 12000, true, DELTA, t0 + 4);
    assert.equal(out.length, 0, "nothing goes out while held");
    const releasedAt = performance.now();
    down.release();
    assert.deepEqual(
      out.map((o) => o.seq),
      [4, 5],
      "only from the newest keyframe",
    );
    assert.ok(
      out.every((o) => o.receivedAt >= releasedAt),
      "stamped at release",
    );
    up.push(6, 15000, true, DELTA);
    assert.deepEqual(
      out.map((o) => o.seq),
      [4, 5, 6],
    );
    assert.equal(requests, 1, "the keyframe held was enough");
    assert.equal(down.stats.packetsOut, 3, "counted when sent, not when held");
    up.close();
  });

  test("held: the lead-in is one padding packet numbered just below the held keyframe, and only until something went out", () => {
    const up = new UpTrack({ id: "v", codec: VP8, requestKeyframe: () => undefined });
    const out: Array<{ seq: number; ts: number; padding: boolean }> = [];
    const down = new DownTrack(VP8, {
      send: (_p, seq, ts) => out.push({ seq, ts, padding: false }),
      sendPadding: (seq, ts) => out.push({ seq, ts, padding: true }) > 0,
    });
    down.hold();
    down.setSource(up);
    assert.equal(down.leadIn(), false, "nothing held yet: nothing to number it from");
    const t0 = performance.now() - 200;
    up.push(100, 0, true, DELTA, t0);
    assert.equal(down.leadIn(), false, "video before the keyframe is not held");
    up.push(101, 3000, true, KEY, t0 + 1);
    up.push(102, 6000, true, DELTA, t0 + 34);
    assert.equal(down.leadIn(), true);
    // A newer keyframe replaces the held one: numbered right after the lead-in, its timestamp on by the wall time between.
    up.push(103, 9000, false, KEY, t0 + 67);
    up.push(104, 9000, true, DELTA, t0 + 67);
    assert.equal(down.leadIn(), true, "the same lead-in again");
    down.release();
    assert.equal(down.leadIn(), false, "released");
    up.push(105, 12000, true, DELTA, t0 + 100);
    assert.deepEqual(out, [
      { seq: 100, ts: 3000, padding: true },
      { seq: 100, ts: 3000, padding: true },
      { seq: 101, ts: 3000 + 66 * 90, padding: false },
      { seq: 102, ts: 3000 + 66 * 90, padding: false },
      { seq: 103, ts: 6000 + 66 * 90, padding: false },
    ]);
    assert.equal(down.stats.paddingOut, 2);

    // Held again after media went out (never today, but the numbers below would be taken): no lead-in.
    down.hold();
    up.push(106, 15000, true, KEY);
    assert.equal(down.leadIn(), false, "the viewer's stream has started");
    up.close();
  });

  test("held: a lead-in whose keyframe was dropped for age is repeated, and the next keyframe is numbered right after it", () => {
    const up = new UpTrack({ id: "v", codec: VP8, requestKeyframe: () => undefined });
    const out: Array<{ seq: number; padding: boolean }> = [];
    const down = new DownTrack(VP8, {
      send: (_p, seq) => out.push({ seq, padding: false }),
      sendPadding: (seq) => out.push({ seq, padding: true }) > 0,
    });
    down.hold();
    down.setSource(up);
    const t0 = performance.now() - 10_000;
    up.push(500, 0, true, KEY, t0);
    assert.equal(down.leadIn(), true);
    up.push(501, 3000, true, DELTA, t0 + HOLD_MAX_MS + 1); // too old now: dropped, the next keyframe waited for
    assert.equal(down.leadIn(), true, "nothing held, the lead-in still goes");
    down.release();
    up.push(502, 6000, true, DELTA, t0 + HOLD_MAX_MS + 34);
    up.push(503, 9000, true, KEY, t0 + HOLD_MAX_MS + 67);
    assert.deepEqual(out, [
      { seq: 499, padding: true },
      { seq: 499, padding: true },
      { seq: 500, padding: false },
    ]);
    up.close();
  });

  test("held: no lead-in where padding could stall the picture (H.264) or the sink cannot pad", () => {
    const H264: TrackCodec = { kind: "video", mimeType: "video/h264", clockRate: 90000 };
    for (const [codec, pads] of [
      [H264, true],
      [VP8, false],
    ] as const) {
      const up = new UpTrack({ id: "v", codec, requestKeyframe: () => undefined });
      let padded = 0;
      const down = new DownTrack(codec, { send: () => undefined, ...(pads ? { sendPadding: () => ++padded > 0 } : {}) });
      down.hold();
      down.setSource(up);
      up.push(1, 3000, true, codec === H264 ? Buffer.from([0x65, 0x88]) : KEY);
      assert.equal(down.leadIn(), false, codec.mimeType);
      assert.equal(padded, 0);
      up.close();
    }
  });

  test("released before its keyframe came: the one on its way is waited for, not asked for twice", () => {
    const clock = fakeTimers();
    let requests = 0;
    const up = new UpTrack({ id: "v", codec: VP8, requestKeyframe: () => requests++, timers: clock.timers });
    const { down, out } = collect(VP8);
    down.hold();
    down.setSource(up);
    clock.advance(10_000); // past the source's 500 ms coalescing: a second request would go out at once
    down.release();
    up.push(1, 0, true, DELTA);
    assert.equal(requests, 1);
    up.push(2, 3000, true, KEY);
    assert.equal(out.length, 1);
    up.close();
  });

  test("held longer than HOLD_MAX_MS: stale frames are dropped and a fresh keyframe asked for at once; after a second time, only at release", () => {
    const clock = fakeTimers();
    let requests = 0;
    const up = new UpTrack({ id: "v", codec: VP8, requestKeyframe: () => requests++, timers: clock.timers });
    const { down, out } = collect(VP8);
    down.hold();
    down.setSource(up);
    assert.equal(requests, 1);
    clock.advance(10_000); // past the source's 500 ms coalescing
    const t0 = performance.now();
    up.push(1, 0, true, KEY, t0);
    up.push(2, 3000, true, DELTA, t0 + HOLD_MAX_MS / 2);
    up.push(3, 6000, true, DELTA, t0 + HOLD_MAX_MS + 1);
    assert.equal(requests, 2, "the first time, a fresh keyframe is asked for at once");
    clock.advance(10_000);
    up.push(4, 9000, true, KEY, t0 + 1000);
    up.push(5, 12000, true, DELTA, t0 + 1000 + HOLD_MAX_MS + 1);
    for (let i = 0; i < 10; i++) up.push(6 + i, 15000 + i * 3000, true, DELTA, t0 + 1000 + HOLD_MAX_MS + (i + 1) * KEYFRAME_RETRY_MS);
    assert.equal(requests, 2, "a viewer still connecting costs the device at most two keyframes");
    down.release();
    assert.equal(out.length, 0, "the stale frames are not sent");
    assert.equal(requests, 3, "asked for at release");
    up.push(20, 60000, true, KEY);
    up.push(21, 63000, true, DELTA);
    assert.equal(out.length, 2);
    up.close();
  });

  test("held longer than HOLD_MAX_MS, released before the fresh keyframe came: it is waited for, not asked for again", () => {
    const clock = fakeTimers();
    let requests = 0;
    const up = new UpTrack({ id: "v", codec: VP8, requestKeyframe: () => requests++, timers: clock.timers });
    const { down, out } = collect(VP8);
    down.hold();
    down.setSource(up);
    clock.advance(10_000);
    const t0 = performance.now();
    up.push(1, 0, true, KEY, t0);
    up.push(2, 3000, true, DELTA, t0 + HOLD_MAX_MS + 1);
    assert.equal(requests, 2);
    clock.advance(10_000);
    down.release();
    assert.equal(requests, 2);
    up.push(3, 6000, true, KEY);
    assert.equal(out.length, 1);
    up.close();
  });

  test("held: audio is dropped, not kept, and flows after release", () => {
    const up = new UpTrack({ id: "a", codec: OPUS, requestKeyframe: () => {} });
    const { down, out } = collect(OPUS);
    down.hold();
    down.setSource(up);
    up.push(7, 960, false, Buffer.from([1]));
    down.release();
    assert.equal(out.length, 0);
    up.push(8, 1920, false, Buffer.from([2]));
    assert.deepEqual(
      out.map((o) => o.payload[0]),
      [2],
    );
    up.close();
  });

  test("a reconnecting source continues the viewer's numbering after its next keyframe", () => {
    let t = 0;
    const first = new UpTrack({ id: "v1", codec: VP8, requestKeyframe: () => {} });
    const { down, out } = collect(VP8);
    down.setSource(first);
    first.push(100, 9000, false, KEY, t);
    first.push(101, 9000, true, DELTA, t);
    first.close();
    assert.equal(down.upTrack, undefined);
    t = 500;
    const second = new UpTrack({ id: "v2", codec: VP8, requestKeyframe: () => {} });
    down.setSource(second);
    second.push(7, 1, false, DELTA, t); // before a keyframe: dropped
    second.push(8, 1, false, KEY, t);
    assert.deepEqual(
      out.map((o) => o.seq),
      [100, 101, 102],
    );
    assert.equal(out[2].ts, 9000 + 45000);
    second.close();
  });

  test("a closed DownTrack leaves its source and refuses a new one", () => {
    const up = new UpTrack({ id: "v", codec: VP8, requestKeyframe: () => {} });
    const { down } = collect(VP8);
    down.setSource(up);
    assert.equal(up.downTracks.size, 1);
    down.close();
    assert.equal(up.downTracks.size, 0);
    assert.throws(() => down.setSource(up), /closed/);
    up.close();
  });

  test("switchLayer: the current layer flows until the new one's keyframe, then only the new one, numbered on", () => {
    let bRequests = 0;
    const a = new UpTrack({ id: "a", codec: VP8, requestKeyframe: () => {} });
    const b = new UpTrack({ id: "b", codec: VP8, requestKeyframe: () => bRequests++ });
    const { down, out } = collect(VP8);
    down.setSource(a);
    a.push(100, 0, true, KEY);
    down.switchLayer(b);
    assert.equal(bRequests, 1, "the new layer is asked for a keyframe");
    assert.equal(down.pendingTrack, b);
    b.push(500, 9000, true, DELTA); // not a keyframe: not yet
    a.push(101, 3000, true, DELTA); // still the current layer
    b.push(501, 12000, false, KEY); // the switch
    a.push(102, 6000, true, DELTA); // dropped from now on
    b.push(502, 12000, true, DELTA);
    assert.deepEqual(
      out.map((o) => o.seq),
      [100, 101, 102, 103],
      "one continuous sequence",
    );
    assert.equal(down.upTrack, b);
    assert.equal(down.pendingTrack, undefined);
    assert.equal(a.downTracks.has(down), false, "the old layer let go");
    // Back to a layer it is already on: nothing pending.
    down.switchLayer(b);
    assert.equal(down.pendingTrack, undefined);
    a.close();
    b.close();
  });
});
