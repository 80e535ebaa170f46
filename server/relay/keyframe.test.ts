import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { isH264KeyframeStart, isVp8KeyframeStart } from "./keyframe.js";

const b = (...bytes: number[]) => Buffer.from(bytes);

describe("keyframe detection", () => {
  test("VP8: start of partition 0 with P=0 is a keyframe", () => {
    assert.equal(isVp8KeyframeStart(b(0x10, 0x00)), true);
    assert.equal(isVp8KeyframeStart(b(0x10, 0x01)), false, "P=1 is an interframe");
    assert.equal(isVp8KeyframeStart(b(0x00, 0x00)), false, "not the start of a partition");
    assert.equal(isVp8KeyframeStart(b(0x11, 0x00)), false, "partition 1");
  });

  test("VP8: skips the extended descriptor (15-bit picture id, TL0PICIDX, TID)", () => {
    // X=1,S=1 | I=1,L=1,T=1 | M=1 picture id (2 bytes) | TL0PICIDX | TID | payload P=0
    assert.equal(isVp8KeyframeStart(b(0x90, 0xe0, 0x80, 0x01, 0x05, 0x20, 0x00)), true);
    assert.equal(isVp8KeyframeStart(b(0x90, 0xe0, 0x80, 0x01, 0x05, 0x20, 0x01)), false);
    // 7-bit picture id only
    assert.equal(isVp8KeyframeStart(b(0x90, 0x80, 0x05, 0x00)), true);
    assert.equal(isVp8KeyframeStart(b(0x90, 0x80, 0x05)), false, "truncated");
  });

  test("H.264: IDR, SPS, STAP-A and FU-A starts", () => {
    assert.equal(isH264KeyframeStart(b(0x65, 0x88)), true, "IDR");
    assert.equal(isH264KeyframeStart(b(0x67, 0x42)), true, "SPS");
    assert.equal(isH264KeyframeStart(b(0x41, 0x9a)), false, "non-IDR slice");
    assert.equal(isH264KeyframeStart(b(0x78, 0x00, 0x02, 0x67, 0x42, 0x00, 0x02, 0x68, 0xce)), true, "STAP-A with SPS");
    assert.equal(isH264KeyframeStart(b(0x78, 0x00, 0x02, 0x41, 0x42)), false, "STAP-A without");
    assert.equal(isH264KeyframeStart(b(0x7c, 0x85, 0x00)), true, "FU-A start of IDR");
    assert.equal(isH264KeyframeStart(b(0x7c, 0x05, 0x00)), false, "FU-A continuation");
    assert.equal(isH264KeyframeStart(b(0x7c, 0x81, 0x00)), false, "FU-A start of non-IDR");
    assert.equal(isH264KeyframeStart(b()), false);
  });
});
