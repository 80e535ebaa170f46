import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  ackLine,
  FALLBACK_CODECS,
  H264_HEADER_BYTES,
  isFallbackCodec,
  JPEG_HEADER_BYTES,
  KEYFRAME_LINE,
  readStripeHeader,
  settingsLine,
  stripeHeaderBytes,
  writeStripeHeader,
  type StripeHeader,
} from "./fallback.js";

describe("fallback protocol: the stripe header layout", () => {
  // The bytes docs/protocol.md gives; both ends read and write through this layout.
  test("writes the documented bytes, big-endian, and returns where the payload goes", () => {
    const jpeg = new Uint8Array(JPEG_HEADER_BYTES);
    assert.equal(writeStripeHeader(jpeg, { kind: "jpeg", frameId: 0x1234, y: 0x0140 }), 6);
    assert.deepEqual([...jpeg], [0x03, 0x00, 0x12, 0x34, 0x01, 0x40]);
    const h264 = new Uint8Array(H264_HEADER_BYTES);
    assert.equal(writeStripeHeader(h264, { kind: "h264", idr: true, frameId: 65535, y: 704, width: 1280, height: 16 }), 10);
    assert.deepEqual([...h264], [0x04, 0x01, 0xff, 0xff, 0x02, 0xc0, 0x05, 0x00, 0x00, 0x10]);
    writeStripeHeader(h264, { kind: "h264", idr: false, frameId: 1, y: 0, width: 2, height: 2 });
    assert.deepEqual([...h264], [0x04, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x02, 0x00, 0x02]);
  });

  test("reads back exactly what it wrote, for both kinds, at the ends of u16, inside a larger buffer", () => {
    const headers: StripeHeader[] = [
      { kind: "jpeg", frameId: 0, y: 0 },
      { kind: "jpeg", frameId: 65535, y: 65535 },
      { kind: "h264", idr: true, frameId: 0, y: 65535, width: 65535, height: 0 },
      { kind: "h264", idr: false, frameId: 0x8001, y: 96, width: 1280, height: 96 },
    ];
    for (const h of headers) {
      const big = new Uint8Array(32).fill(0xee);
      const msg = big.subarray(3, 3 + stripeHeaderBytes(h.kind) + 2);
      const at = writeStripeHeader(msg, h);
      msg.set([7, 8], at);
      assert.deepEqual(readStripeHeader(msg), h);
      assert.deepEqual([...msg.subarray(at)], [7, 8], "the payload starts where the writer said");
      assert.deepEqual([...big.subarray(0, 3)], [0xee, 0xee, 0xee], "nothing written before the message");
    }
  });

  test("refuses a field outside u16 before writing anything", () => {
    const out = new Uint8Array(H264_HEADER_BYTES);
    assert.throws(
      () => writeStripeHeader(out, { kind: "h264", idr: false, frameId: 1, y: 2, width: 3, height: 65536 }),
      /height must be an integer in 0\.\.65535, got 65536/,
    );
    assert.throws(() => writeStripeHeader(out, { kind: "jpeg", frameId: 1.5, y: 0 }), /frameId/);
    assert.deepEqual([...out], new Array(H264_HEADER_BYTES).fill(0));
    assert.throws(() => writeStripeHeader(new Uint8Array(5), { kind: "jpeg", frameId: 0, y: 0 }), /needs 6 bytes, got 5/);
  });
});

test("fallback protocol: codec names and the lines a viewer sends", () => {
  assert.deepEqual([...FALLBACK_CODECS], ["jpeg", "h264"]);
  assert.equal(isFallbackCodec("h264"), true);
  assert.equal(isFallbackCodec("vp8"), false);
  assert.equal(isFallbackCodec(null), false);
  assert.equal(ackLine(65535), "CLIENT_FRAME_ACK 65535");
  assert.equal(KEYFRAME_LINE, "REQUEST_KEYFRAME");
  assert.equal(settingsLine({ fps: 30, jpegQuality: 40 }), 'SETTINGS,{"fps":30,"jpegQuality":40}');
});
