import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { DownTrack } from "../relay/down-track.js";
import { UpTrack } from "../relay/up-track.js";
import { parseVp8Descriptor } from "../relay/vp8.js";
import { Vp8Packetizer } from "./vp8-packetizer.js";

const VP8 = { kind: "video", mimeType: "video/vp8", clockRate: 90000 } as const;

/** A VP8 keyframe's first bytes (frame tag with P=0, start code, 640×360) followed by `size` bytes in all. */
function keyframe(size: number): Buffer {
  const f = Buffer.alloc(size, 7);
  Buffer.from([0x50, 0x42, 0x00, 0x9d, 0x01, 0x2a, 0x80, 0x02, 0x68, 0x01]).copy(f);
  return f;
}

describe("Vp8Packetizer", () => {
  test("a frame becomes packets within the MTU, numbered on, one picture ID, S on the first and the marker on the last; the relay reads it back", () => {
    const up = new UpTrack({ id: "v", codec: VP8, requestKeyframe: () => {} });
    const out: Array<{ seq: number; ts: number; payload: Buffer; marker: boolean }> = [];
    const down = new DownTrack(VP8, { send: (p, seq, ts) => out.push({ seq, ts, payload: p.payload, marker: p.marker }) });
    down.setSource(up);
    const packetizer = new Vp8Packetizer(1200);
    const frame = keyframe(5000);
    packetizer.push(up, frame, 1000);
    packetizer.push(up, Buffer.from([0x51, 1, 2, 3]), 1033.3);

    assert.equal(out.length, 5 + 1, "5000 bytes in 1184-byte shares, then a one-packet delta frame");
    assert.ok(out.every((p) => p.payload.length <= 1200 - 12));
    out.forEach((p, i) => i > 0 && assert.equal(p.seq, (out[i - 1].seq + 1) & 0xffff, "consecutive sequence numbers"));
    const d = out.map((p) => parseVp8Descriptor(p.payload)!);
    assert.deepEqual(
      d.map((x) => x.frameStart),
      [true, false, false, false, false, true],
    );
    assert.deepEqual(
      out.map((p) => p.marker),
      [false, false, false, false, true, true],
    );
    assert.equal(new Set(d.slice(0, 5).map((x) => x.pictureId)).size, 1, "one picture ID per frame");
    assert.equal(d[5].pictureId, (d[0].pictureId + 1) & 0x7fff);
    assert.equal(d[0].pictureIdBits, 15);
    assert.equal(out[0].ts, 90_000, "90 kHz of the arrival");
    assert.equal(out[5].ts, Math.round(1033.3 * 90));
    const joined = Buffer.concat(out.slice(0, 5).map((p, i) => p.payload.subarray(d[i].length)));
    assert.ok(joined.equals(frame), "the frame comes back whole");
    assert.deepEqual(up.frameSize, { width: 640, height: 360 }, "the relay sees a keyframe and its size");
    up.close();
  });

  test("refuses an MTU with no room", () => {
    assert.throws(() => new Vp8Packetizer(60), RangeError);
  });
});
