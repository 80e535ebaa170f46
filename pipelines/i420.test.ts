import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { fromGstI420, gstI420Layout, toGstI420 } from "./i420.js";

describe("I420 layouts", () => {
  test("GStreamer pads rows to 4 bytes", () => {
    assert.deepEqual(gstI420Layout(1280, 64), { strides: [1280, 640, 640], offsets: [0, 81920, 102400], size: 122880 });
    assert.deepEqual(gstI420Layout(100, 60), { strides: [100, 52, 52], offsets: [0, 6000, 7560], size: 9120 });
    assert.equal(gstI420Layout(101, 61).size, 104 * 62 + 2 * 52 * 31);
  });

  test("packed buffers that need no padding pass through uncopied", () => {
    const data = Buffer.alloc((64 * 16 * 3) / 2);
    assert.equal(toGstI420({ data, width: 64, height: 16 }), data);
    assert.equal(fromGstI420(data, 64, 16).data, data);
  });

  test("padding round-trips", () => {
    const w = 100;
    const h = 6;
    const data = Buffer.from(Array.from({ length: (w * h * 3) / 2 }, (_, i) => i % 251));
    const gst = toGstI420({ data, width: w, height: h });
    assert.equal(gst.length, 100 * 6 + 2 * 52 * 3);
    // The first U row starts after the Y plane, the second one 52 bytes later.
    assert.deepEqual(gst.subarray(600, 650), data.subarray(600, 650));
    assert.deepEqual(gst.subarray(652, 702), data.subarray(650, 700));
    assert.deepEqual(fromGstI420(gst, w, h), { data, width: w, height: h });
  });

  test("odd sizes lose their last column and row", () => {
    const gst = Buffer.alloc(gstI420Layout(5, 3).size, 7);
    const p = fromGstI420(gst, 5, 3);
    assert.deepEqual([p.width, p.height, p.data.length], [4, 2, 12]);
    assert.throws(() => fromGstI420(Buffer.alloc(10), 5, 3), /needs 48 bytes, got 10/);
  });
});
