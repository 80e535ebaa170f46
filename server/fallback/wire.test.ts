import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { nextFrameId, streamMessage } from "../protocol/fallback.js";
import { encodeH264Stripe, encodeJpegStripe, parseClientMessage, parseStripe } from "./wire.js";

describe("fallback wire: stripes", () => {
  test("a JPEG stripe is 0x03 0x00 frameId y, big-endian, then the JPEG", () => {
    const jpeg = Buffer.from([0xff, 0xd8, 0x01, 0xff, 0xd9]);
    const msg = encodeJpegStripe(0x1234, 0x0140, jpeg);
    assert.deepEqual([...msg.subarray(0, 6)], [0x03, 0x00, 0x12, 0x34, 0x01, 0x40]);
    assert.deepEqual(msg.subarray(6), jpeg);
    assert.deepEqual(parseStripe(msg), { kind: "jpeg", frameId: 0x1234, y: 0x140, jpeg });
  });

  test("an H.264 stripe is 0x04 frameType frameId y width height, then the Annex-B", () => {
    const nal = Buffer.from([0, 0, 0, 1, 0x67, 0x42]);
    const msg = encodeH264Stripe({ idr: true, frameId: 65535, y: 704, width: 1280, height: 16 }, nal);
    assert.deepEqual([...msg.subarray(0, 10)], [0x04, 0x01, 0xff, 0xff, 0x02, 0xc0, 0x05, 0x00, 0x00, 0x10]);
    assert.deepEqual(parseStripe(msg), { kind: "h264", idr: true, frameId: 65535, y: 704, width: 1280, height: 16, annexB: nal });
    const delta = parseStripe(encodeH264Stripe({ idr: false, frameId: 1, y: 0, width: 2, height: 2 }, Buffer.alloc(0)));
    assert.equal(delta.kind === "h264" && delta.idr, false);
  });

  test("header fields outside u16 are refused", () => {
    assert.throws(() => encodeJpegStripe(65536, 0, Buffer.alloc(0)), /frameId must be an integer in 0\.\.65535/);
    assert.throws(() => encodeJpegStripe(0, -1, Buffer.alloc(0)), /y must be/);
    assert.throws(() => encodeH264Stripe({ idr: false, frameId: 0, y: 0, width: 70000, height: 1 }, Buffer.alloc(0)), /width/);
  });

  const bad: Array<[string, number[], RegExp]> = [
    ["empty", [], /empty/],
    ["short JPEG header", [0x03, 0, 0, 1, 0], /JPEG stripe needs 6 header bytes, got 5/],
    ["short H.264 header", [0x04, 1, 0, 1, 0, 0, 0, 0, 0], /H\.264 stripe needs 10 header bytes, got 9/],
    ["bad H.264 frame type", [0x04, 2, 0, 0, 0, 0, 0, 0, 0, 0], /frame type must be 0 or 1, got 2/],
    ["unknown type", [0x07, 0, 0, 0, 0, 0], /unknown stripe message type 0x07/],
  ];
  for (const [name, bytes, error] of bad) {
    test(`parseStripe refuses: ${name}`, () => assert.throws(() => parseStripe(Buffer.from(bytes)), error));
  }

  test("frame ids wrap at 65536", () => {
    assert.equal(nextFrameId(0), 1);
    assert.equal(nextFrameId(65534), 65535);
    assert.equal(nextFrameId(65535), 0);
    const msg = encodeJpegStripe(nextFrameId(65535), 0, Buffer.alloc(0));
    assert.equal(parseStripe(msg).frameId, 0);
  });
});

describe("fallback wire: text messages", () => {
  test("the stream message carries size, codec and stripe height", () => {
    assert.deepEqual(JSON.parse(streamMessage({ width: 1280, height: 720, codec: "h264", stripeHeight: 64 })), {
      type: "stream",
      width: 1280,
      height: 720,
      codec: "h264",
      stripeHeight: 64,
    });
  });

  const cases: Array<[string, ReturnType<typeof parseClientMessage>]> = [
    ["CLIENT_FRAME_ACK 0", { kind: "ack", frameId: 0 }],
    ["CLIENT_FRAME_ACK 65535", { kind: "ack", frameId: 65535 }],
    ["REQUEST_KEYFRAME", { kind: "keyframe" }],
    ['SETTINGS,{"fps":30,"jpegQuality":40}', { kind: "settings", settings: { fps: 30, jpegQuality: 40 } }],
    ["SETTINGS,{}", { kind: "settings", settings: {} }],
    [
      'SETTINGS,{"paintOverQuality":90,"h264Crf":23,"h264BitrateKbps":2000}',
      { kind: "settings", settings: { paintOverQuality: 90, h264Crf: 23, h264BitrateKbps: 2000 } },
    ],
    ["kd,65", { kind: "input", line: "kd,65" }],
    ["m,10,20,0,0", { kind: "input", line: "m,10,20,0,0" }],
    ["REQUEST_KEYFRAMES", { kind: "input", line: "REQUEST_KEYFRAMES" }],
  ];
  for (const [text, expected] of cases) {
    test(`parses ${JSON.stringify(text)}`, () => assert.deepEqual(parseClientMessage(text), expected));
  }

  const refused: Array<[string, RegExp]> = [
    ["CLIENT_FRAME_ACK", /needs a frame id/],
    ["CLIENT_FRAME_ACK 65536", /needs a frame id in 0\.\.65535/],
    ["CLIENT_FRAME_ACK -1", /needs a frame id/],
    ["CLIENT_FRAME_ACK 1.5", /needs a frame id/],
    ["SETTINGS,{fps:30}", /malformed JSON/],
    ['SETTINGS,{"fps":0}', /fps/],
    ['SETTINGS,{"fps":61}', /fps/],
    ['SETTINGS,{"jpegQuality":101}', /jpegQuality/],
    ['SETTINGS,{"h264Crf":9}', /h264Crf/],
    ['SETTINGS,{"h264BitrateKbps":20001}', /h264BitrateKbps/],
    ['SETTINGS,{"fps":"30"}', /fps/],
    ['SETTINGS,{"bitrate":1}', /bitrate/],
    ["SETTINGS,[]", /SETTINGS refused/],
  ];
  for (const [text, error] of refused) {
    test(`refuses ${JSON.stringify(text)} with a clear error`, () => {
      const r = parseClientMessage(text);
      assert.equal(r.kind, "error");
      assert.match(r.kind === "error" ? r.message : "", error);
    });
  }
});
