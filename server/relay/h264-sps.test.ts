import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, test } from "node:test";
import { h264SpsSize, spsPictureSize } from "./h264-sps.js";
import { PictureGuard } from "./picture-guard.js";
import type { RelayPacket } from "./up-track.js";

/** The NAL units of an Annex B byte stream. */
function nalUnits(stream: Buffer): Buffer[] {
  const starts: number[] = [];
  for (let i = 0; i + 3 <= stream.length; i++) if (stream[i] === 0 && stream[i + 1] === 0 && stream[i + 2] === 1) starts.push(i + 3);
  return starts.map((s, k) => {
    let end = k + 1 < starts.length ? starts[k + 1] - 3 : stream.length;
    while (end > s && stream[end - 1] === 0) end--;
    return stream.subarray(s, end);
  });
}

/** The SPS x264 writes for a `width`×`height` picture in `profile`, made by GStreamer. */
function x264Sps(width: number, height: number, profile: string): Buffer {
  const dir = mkdtempSync(join(tmpdir(), "tessera-sps-"));
  try {
    const file = join(dir, "out.h264");
    execFileSync("gst-launch-1.0", [
      "-q",
      "videotestsrc",
      "num-buffers=1",
      "!",
      `video/x-raw,width=${width},height=${height}`,
      "!",
      "x264enc",
      "!",
      `video/x-h264,profile=${profile},stream-format=byte-stream`,
      "!",
      "filesink",
      `location=${file}`,
    ]);
    const sps = nalUnits(readFileSync(file)).find((n) => (n[0] & 0x1f) === 7);
    assert.ok(sps, "x264 wrote an SPS");
    return sps;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Writes bits MSB first, with Exp-Golomb codes. */
class BitWriter {
  private readonly bits: number[] = [];
  u(n: number, v: number): this {
    for (let i = n - 1; i >= 0; i--) this.bits.push(Math.floor(v / 2 ** i) % 2);
    return this;
  }
  ue(v: number): this {
    const len = Math.floor(Math.log2(v + 1));
    return this.u(len, 0).u(len + 1, v + 1);
  }
  bytes(): Buffer {
    const out = Buffer.alloc(Math.ceil((this.bits.length + 1) / 8));
    [...this.bits, 1].forEach((b, i) => (out[i >> 3] |= b << (7 - (i & 7))));
    return out;
  }
}

/** A baseline SPS claiming `widthMbs`×`heightMbs` macroblocks. */
const baselineSps = (widthMbs: number, heightMbs: number) =>
  Buffer.concat([
    Buffer.of(0x67),
    new BitWriter()
      .u(8, 66)
      .u(8, 0)
      .u(8, 31)
      .ue(0)
      .ue(0)
      .ue(0)
      .ue(0)
      .ue(1)
      .u(1, 0)
      .ue(widthMbs - 1)
      .ue(heightMbs - 1)
      .u(1, 1)
      .u(1, 0)
      .u(1, 0)
      .u(1, 0)
      .bytes(),
  ]);

const packet = (payload: Buffer, keyframe = false): RelayPacket => ({
  sequenceNumber: 0,
  timestamp: 0,
  marker: false,
  payload,
  keyframe,
  temporal: -1,
  receivedAt: 0,
});

describe("H.264 SPS picture size", () => {
  for (const [w, h, profile] of [
    [1280, 720, "high"],
    [640, 360, "constrained-baseline"],
    [1920, 1080, "main"],
  ] as const) {
    test(`x264's SPS for ${w}x${h} (${profile}) reads as its coded size`, () => {
      const size = spsPictureSize(x264Sps(w, h, profile));
      // Coded sizes are whole macroblocks: 1080 is coded as 1088 and cropped.
      assert.deepEqual(size, { width: Math.ceil(w / 16) * 16, height: Math.ceil(h / 16) * 16 });
    });
  }

  test("in a single NAL packet, an STAP-A and the first fragment of an FU-A", () => {
    const sps = baselineSps(1024, 1024);
    const want = { width: 16384, height: 16384 };
    assert.deepEqual(h264SpsSize(sps), want);
    const pps = Buffer.of(0x68, 0xce, 0x3c, 0x80);
    const stap = Buffer.concat([Buffer.of(0x78), Buffer.of(0, pps.length), pps, Buffer.of(0, sps.length), sps]);
    assert.deepEqual(h264SpsSize(stap), want);
    const fu = Buffer.concat([Buffer.of(0x7c, 0x80 | 7), sps.subarray(1)]);
    assert.deepEqual(h264SpsSize(fu), want);
    assert.equal(h264SpsSize(Buffer.concat([Buffer.of(0x7c, 7), sps.subarray(1)])), undefined, "a later fragment says nothing");
  });

  test("truncated, garbage and overlong codes never throw", () => {
    const sps = baselineSps(80, 45);
    for (let n = 0; n < sps.length; n++) assert.doesNotThrow(() => spsPictureSize(sps.subarray(0, n)));
    assert.equal(spsPictureSize(Buffer.of(0x67, 0, 0, 0, 0, 0, 0, 0)), undefined);
    for (let i = 0; i < 2000; i++) {
      const junk = Buffer.from(Array.from({ length: 1 + (i % 40) }, (_, k) => (i * 31 + k * 17) & 0xff));
      assert.doesNotThrow(() => h264SpsSize(junk));
    }
  });
});

describe("PictureGuard", () => {
  test("holds back everything from an SPS or VP8 keyframe that claims too much until one within bounds", () => {
    const refused: string[] = [];
    const guard = new PictureGuard({ width: 4096, height: 4096 }, (s) => refused.push(`${s.width}x${s.height}`));
    const slice = packet(Buffer.of(0x41, 0x9a, 1, 2));
    assert.equal(guard.admit("video/h264", slice), true);
    assert.equal(guard.admit("video/h264", packet(baselineSps(1024, 1024))), false);
    assert.equal(guard.admit("video/h264", slice), false, "its slices too");
    assert.equal(guard.admit("video/h264", packet(baselineSps(1024, 1024))), false);
    assert.equal(guard.admit("video/h264", packet(baselineSps(80, 45))), true, "a 1280x720 SPS lets the stream through again");
    assert.equal(guard.admit("video/h264", slice), true);
    assert.deepEqual(refused, ["16384x16384"], "told once per refused change");

    const vp8Key = (w: number, h: number) => {
      const b = Buffer.alloc(14);
      b[0] = 0x10; // descriptor: start of partition 0
      b[1] = 0x10; // frame tag: key frame
      b.set([0x9d, 0x01, 0x2a], 4);
      b.writeUInt16LE(w, 7);
      b.writeUInt16LE(h, 9);
      return packet(b, true);
    };
    assert.equal(guard.admit("video/vp8", vp8Key(16000, 16000)), false);
    assert.equal(guard.admit("video/vp8", packet(Buffer.of(0x00, 0x01, 2, 3))), false);
    assert.equal(guard.admit("video/vp8", vp8Key(1280, 720)), true);
    assert.deepEqual(refused, ["16384x16384", "16000x16000"]);
  });
});
