/**
 * Unit tests of the browser's pure fallback modules (web/src/fallback/:
 * stripe-wire, avc, frame-acks, auto-fallback, fallback-stats); they live in
 * e2e/ for the reason e2e/coords.test.ts gives. Stripes are written with the
 * server's own encoder, so both ends are held to one format.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { encodeH264Stripe, encodeJpegStripe } from "../server/fallback/wire.js";
import { ackLine, settingsLine } from "../server/protocol/fallback.js";
import { CLOSE_CODES } from "../server/protocol/messages.js";
import { FallbackTrigger, transportFromQuery, type FallbackReason } from "../web/src/fallback/auto-fallback.js";
import { annexBNals, avcCodecString } from "../web/src/fallback/avc.js";
import { fallbackSample } from "../web/src/fallback/fallback-stats.js";
import { FRAME_STALE_MS, FrameAcks } from "../web/src/fallback/frame-acks.js";
import { fallbackUrl, FINAL_CLOSE_CODES, parseFallbackText, parseStripe } from "../web/src/fallback/stripe-wire.js";
import { statsRows } from "../web/src/stats-summary.js";

describe("parseStripe", () => {
  test("reads a JPEG stripe the server wrote, payload as a view", () => {
    const jpeg = Uint8Array.of(0xff, 0xd8, 1, 2, 3, 0xff, 0xd9);
    const buf = encodeJpegStripe(0xbeef, 720 - 64, jpeg);
    const s = parseStripe(new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength));
    assert.equal(s.kind, "jpeg");
    assert.equal(s.frameId, 0xbeef);
    assert.equal(s.y, 656);
    assert.deepEqual([...s.data], [...jpeg]);
    assert.equal(s.data.buffer, buf.buffer, "no copy");
  });

  test("reads H.264 stripes the server wrote: IDR and delta, big-endian fields", () => {
    const nal = Uint8Array.of(0, 0, 0, 1, 0x67, 0x42, 0xe0, 0x1f);
    for (const idr of [true, false]) {
      const buf = encodeH264Stripe({ idr, frameId: 65535, y: 64, width: 1280, height: 64 }, nal);
      const s = parseStripe(new Uint8Array(buf));
      assert.deepEqual({ ...s, data: [...s.data] }, { kind: "h264", idr, frameId: 65535, y: 64, width: 1280, height: 64, data: [...nal] });
    }
  });

  test("reads a stripe at a non-zero offset of a larger buffer", () => {
    const big = new Uint8Array(20);
    big.set([0x03, 0, 0x01, 0x02, 0x00, 0x40, 9, 9], 5);
    const s = parseStripe(big.subarray(5, 13));
    assert.equal(s.frameId, 0x0102);
    assert.equal(s.y, 64);
    assert.deepEqual([...s.data], [9, 9]);
  });

  const bad: [string, number[], RegExp][] = [
    ["empty", [], /empty/],
    ["short JPEG header", [3, 0, 0, 1, 0], /6 header bytes/],
    ["short H.264 header", [4, 1, 0, 1, 0, 0, 5, 0, 0], /10 header bytes/],
    ["H.264 frame type 2", [4, 2, 0, 1, 0, 0, 5, 0, 0, 64], /frame type/],
    ["unknown type", [7, 0, 0, 0, 0, 0], /0x07/],
  ];
  for (const [name, bytes, message] of bad) {
    test(`refuses: ${name}`, () => assert.throws(() => parseStripe(Uint8Array.from(bytes)), message));
  }
});

describe("parseFallbackText", () => {
  const cases: [string, unknown][] = [
    ['{"type":"ready","peerId":"fb-1","deviceId":"test"}', { type: "ready", peerId: "fb-1", deviceId: "test" }],
    ['{"type":"control","holder":null}', { type: "control", holder: null }],
    ['{"type":"control","holder":"fb-1"}', { type: "control", holder: "fb-1" }],
    [
      '{"type":"stream","width":1280,"height":720,"codec":"h264","stripeHeight":64}',
      { type: "stream", width: 1280, height: 720, codec: "h264", stripeHeight: 64 },
    ],
    ['{"type":"device_offline"}', { type: "device_offline" }],
    ['{"type":"device_online"}', { type: "device_online" }],
    ['{"type":"pace","fps":4,"tier":1,"tiers":3}', { type: "pace", fps: 4, tier: 1, tiers: 3 }],
    ['{"type":"pace","fps":"4","tier":1,"tiers":3}', undefined],
    ['{"type":"error","code":"not_found","message":"no device"}', { type: "error", code: "not_found", message: "no device" }],
    ['{"type":"resolution","width":640,"height":480}', { type: "device", text: '{"type":"resolution","width":640,"height":480}' }],
    ['{"type":"cursor","x":1}', { type: "device", text: '{"type":"cursor","x":1}' }],
    ['{"type":"stream","width":-1,"height":720,"codec":"jpeg","stripeHeight":64}', undefined],
    ['{"type":"stream","width":1280,"height":720,"codec":"vp8","stripeHeight":64}', undefined],
    ['{"type":"control"}', undefined],
    ['{"type":"welcome"}', undefined],
    ["CLIENT_FRAME_ACK 1", undefined],
    ["null", undefined],
  ];
  for (const [text, want] of cases) {
    test(text, () => assert.deepEqual(parseFallbackText(text), want));
  }
});

test("client lines and the endpoint URL", () => {
  assert.equal(ackLine(42), "CLIENT_FRAME_ACK 42");
  assert.equal(settingsLine({ fps: 30 }), 'SETTINGS,{"fps":30}');
  assert.equal(fallbackUrl({ protocol: "http:", host: "127.0.0.1:8080" }, "a b", "jpeg"), "ws://127.0.0.1:8080/ws/stream/a%20b?codec=jpeg");
  assert.equal(fallbackUrl({ protocol: "https:", host: "x.example" }, "d", "h264"), "wss://x.example/ws/stream/d?codec=h264");
});

test("the close codes the browser gives up on are the server's", () => {
  assert.deepEqual(new Set(FINAL_CLOSE_CODES), new Set([CLOSE_CODES.unauthorized, CLOSE_CODES.forbidden, CLOSE_CODES.notFound]));
});

describe("avcCodecString", () => {
  test("takes profile, constraint flags and level of the first SPS", () => {
    const au = Uint8Array.of(0, 0, 0, 1, 0x09, 0xf0, 0, 0, 0, 1, 0x67, 0x42, 0xc0, 0x1f, 0xaa, 0, 0, 1, 0x68, 0xce, 0, 0, 1, 0x65, 0x88);
    assert.equal(avcCodecString(au), "avc1.42c01f");
    assert.deepEqual(
      annexBNals(au).map((n) => n[0] & 0x1f),
      [9, 7, 8, 5],
    );
  });
  test("high profile, level 4.0", () => assert.equal(avcCodecString(Uint8Array.of(0, 0, 1, 0x27, 0x64, 0x00, 0x28, 1)), "avc1.640028"));
  test("no SPS: undefined", () => assert.equal(avcCodecString(Uint8Array.of(0, 0, 0, 1, 0x41, 0x9a)), undefined));
  test("truncated SPS: undefined", () => assert.equal(avcCodecString(Uint8Array.of(0, 0, 1, 0x67, 0x42)), undefined));
});

describe("FrameAcks", () => {
  test("acks a frame once all its stripes are done and every earlier frame is", () => {
    const a = new FrameAcks();
    a.received(1, 0);
    a.received(1, 0);
    a.received(2, 1);
    a.done(2, true);
    assert.deepEqual(a.poll(2), { ack: undefined, painted: 0 }, "frame 1 still has stripes in flight");
    a.done(1, true);
    assert.deepEqual(a.poll(3), { ack: undefined, painted: 0 });
    a.done(1, false);
    assert.deepEqual(a.poll(4), { ack: 2, painted: 2 });
    assert.deepEqual(a.poll(5), { ack: undefined, painted: 0 }, "nothing new");
  });
  test("a frame whose stripes were all dropped is acked but not counted as painted", () => {
    const a = new FrameAcks();
    a.received(7, 0);
    a.done(7, false);
    assert.deepEqual(a.poll(1), { ack: 7, painted: 0 });
  });
  test("a frame stuck in a decoder counts as done after FRAME_STALE_MS", () => {
    const a = new FrameAcks();
    a.received(1, 0);
    a.received(2, 10);
    a.done(2, true);
    assert.equal(a.poll(FRAME_STALE_MS - 1).ack, undefined);
    assert.deepEqual(a.poll(FRAME_STALE_MS), { ack: 2, painted: 1 });
  });
  test("late stripes of a completed frame are acked again but not counted twice; frame ids wrap", () => {
    const a = new FrameAcks();
    a.received(65535, 0);
    a.done(65535, true);
    assert.deepEqual(a.poll(1), { ack: 65535, painted: 1 });
    a.received(65535, 2);
    a.received(0, 2);
    a.done(65535, true);
    a.done(0, true);
    assert.deepEqual(a.poll(3), { ack: 0, painted: 1 });
  });
  test("reset forgets frames in flight; their late done() calls are ignored", () => {
    const a = new FrameAcks();
    a.received(5, 0);
    a.reset();
    a.done(5, true);
    assert.deepEqual(a.poll(10_000), { ack: undefined, painted: 0 });
  });
});

describe("FallbackTrigger", () => {
  /** Fake timers: `advance` runs what is due. */
  function setup() {
    let now = 0;
    const timers = new Map<number, { at: number; fn: () => void }>();
    let next = 1;
    const fired: FallbackReason[] = [];
    const trigger = new FallbackTrigger(
      {
        set: (fn, ms) => (timers.set(next, { at: now + ms, fn }), next++),
        clear: (h) => timers.delete(h as number),
      },
      (r) => fired.push(r),
      4000,
    );
    const advance = (ms: number) => {
      now += ms;
      for (const [h, t] of [...timers]) {
        if (t.at <= now) {
          timers.delete(h);
          t.fn();
        }
      }
    };
    return { trigger, fired, advance, pending: () => timers.size };
  }

  test("not connected 4 s after the answer: fallback", () => {
    const { trigger, fired, advance } = setup();
    trigger.watchSent();
    advance(100);
    trigger.offered();
    trigger.answered();
    trigger.connectionState("connecting");
    advance(3999);
    assert.deepEqual(fired, []);
    advance(1);
    assert.deepEqual(fired, ["not_connected"]);
  });
  test("a browser that cannot decode the device's video: fallback at once, and only once", () => {
    const { trigger, fired, advance, pending } = setup();
    trigger.watchSent();
    trigger.offered();
    trigger.unplayable();
    trigger.unplayable();
    advance(10_000);
    assert.deepEqual(fired, ["no_codec"]);
    assert.equal(pending(), 0);
  });
  test("connected in time: no fallback, and no timer left", () => {
    const { trigger, fired, advance, pending } = setup();
    trigger.watchSent();
    trigger.offered();
    trigger.answered();
    advance(2000);
    trigger.connectionState("connected");
    advance(10_000);
    assert.deepEqual(fired, []);
    assert.equal(pending(), 0);
  });
  test("no offer 4 s after watch while the device is online: fallback", () => {
    const { trigger, fired, advance } = setup();
    trigger.watchSent();
    trigger.deviceState("online");
    advance(4000);
    assert.deepEqual(fired, ["no_offer"]);
  });
  test("no offer while the device is offline: keep waiting", () => {
    const { trigger, fired, advance } = setup();
    trigger.watchSent();
    trigger.deviceState("offline");
    advance(60_000);
    assert.deepEqual(fired, []);
    trigger.deviceState("online");
    trigger.offered();
    trigger.answered();
    trigger.connectionState("connected");
    advance(60_000);
    assert.deepEqual(fired, []);
  });
  test("two failures without a connection between: fallback at once; one failure then recovery: none", () => {
    const a = setup();
    a.trigger.answered();
    a.trigger.connectionState("connected");
    a.trigger.connectionState("failed");
    a.trigger.answered();
    a.trigger.connectionState("connected");
    a.trigger.connectionState("failed");
    assert.deepEqual(a.fired, []);
    a.trigger.answered();
    a.advance(1000);
    a.trigger.connectionState("failed");
    assert.deepEqual(a.fired, ["failed"]);
    a.advance(10_000);
    assert.deepEqual(a.fired, ["failed"], "fires once");
  });
  test("pause (signaling down) and close stop the clock", () => {
    const { trigger, fired, advance } = setup();
    trigger.watchSent();
    trigger.pause();
    advance(10_000);
    trigger.answered();
    trigger.close();
    advance(10_000);
    assert.deepEqual(fired, []);
  });
});

test("transportFromQuery", () => {
  assert.deepEqual(transportFromQuery(""), { transport: "auto", codec: undefined });
  assert.deepEqual(transportFromQuery("?device=x&transport=ws&codec=h264"), { transport: "ws", codec: "h264" });
  assert.deepEqual(transportFromQuery("?transport=webrtc&codec=vp8"), { transport: "webrtc", codec: undefined });
  assert.deepEqual(transportFromQuery("?transport=carrier-pigeon&codec=jpeg"), { transport: "auto", codec: "jpeg" });
});

test("fallbackSample: fps and kb/s over the interval, no RTT", () => {
  const first = fallbackSample("jpeg", { bytes: 1000, frames: 10, width: 1280, height: 720 }, undefined, 1000);
  assert.equal(first.transport, "ws_jpeg");
  assert.equal(first.fps, null);
  const second = fallbackSample("jpeg", { bytes: 126_000, frames: 40, width: 1280, height: 720 }, first, 2000);
  assert.equal(second.fps, 30);
  assert.equal(second.videoKbps, 1000);
  assert.equal(second.rttMs, null);
  assert.equal(second.width, 1280);
  assert.equal(fallbackSample("h264", { bytes: 0, frames: 0, width: null, height: null }, undefined, 0).videoCodec, "video/H264");
});

test("fallbackSample: the server's pace shows in the overlay", () => {
  const paced = fallbackSample("jpeg", { bytes: 0, frames: 0, width: 1280, height: 720, pace: { fps: 4, tier: 1, tiers: 3 } }, undefined, 0);
  assert.equal(Object.fromEntries(statsRows(paced)).pace, "4 fps · quality 2 of 3");
  assert.equal(Object.fromEntries(statsRows(fallbackSample("jpeg", { bytes: 0, frames: 0, width: null, height: null }, undefined, 0))).pace, undefined);
});
