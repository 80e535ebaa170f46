/**
 * The relay's packet path, fuzzed: RTP headers (extensions, padding, CSRCs,
 * lengths that lie), VP8 and VP9 payload descriptors and H.264 NAL units of every
 * shape, in sequences with jumps, reordering, wraps and layer switches. The
 * relay must never throw, and what a viewer gets must stay well-formed.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import fc from "fast-check";
import { DownTrack } from "../relay/down-track.js";
import { isKeyframeStart } from "../relay/keyframe.js";
import { parseRtp } from "../relay/rtp.js";
import { UpTrack, type TrackCodec } from "../relay/up-track.js";
import { PictureGuard } from "../relay/picture-guard.js";
import { parseVp8Descriptor, vp8KeyframeSize, vp8Temporal } from "../relay/vp8.js";
import { parseVp9Descriptor, vp9HeaderSize, vp9KeyframeSize, vp9Temporal } from "../relay/vp9.js";
import { fuzz, RUNS } from "./fuzz.js";

const VP8: TrackCodec = { kind: "video", mimeType: "video/vp8", clockRate: 90000 };
const VP9: TrackCodec = { kind: "video", mimeType: "video/vp9", clockRate: 90000 };
const H264: TrackCodec = { kind: "video", mimeType: "video/h264", clockRate: 90000 };
const OPUS: TrackCodec = { kind: "audio", mimeType: "audio/opus", clockRate: 48000, channels: 2 };

/** A VP8 payload: a descriptor with any of its optional fields (or lying about them), then a frame header or noise. */
const vp8Payload = fc
  .record({
    x: fc.boolean(),
    // Frame starts and keyframes often enough that sequences get past a viewer's wait for a keyframe.
    s: fc.oneof(fc.constant(true), fc.boolean()),
    pid: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 7 })),
    ext: fc.integer({ min: 0, max: 255 }),
    pictureId: fc.integer({ min: 0, max: 0xffff }),
    tl0: fc.integer({ min: 0, max: 255 }),
    tk: fc.integer({ min: 0, max: 255 }),
    key: fc.oneof(fc.constant(true), fc.boolean()),
    size: fc.tuple(fc.integer({ min: 0, max: 0x3fff }), fc.integer({ min: 0, max: 0x3fff })),
    tail: fc.uint8Array({ maxLength: 24 }),
    cut: fc.nat({ max: 20 }),
  })
  .map((r) => {
    const bytes = [(r.x ? 0x80 : 0) | (r.s ? 0x10 : 0) | r.pid];
    if (r.x) {
      bytes.push(r.ext);
      if (r.ext & 0x80) bytes.push(...(r.pictureId > 0x7f ? [0x80 | (r.pictureId >> 8), r.pictureId & 0xff] : [r.pictureId]));
      if (r.ext & 0x40) bytes.push(r.tl0);
      if (r.ext & 0x30) bytes.push(r.tk);
    }
    // The frame header: a keyframe's start code and size, or an interframe's first byte.
    if (r.key) bytes.push(0x10, 0x02, 0x00, 0x9d, 0x01, 0x2a, r.size[0] & 0xff, r.size[0] >> 8, r.size[1] & 0xff, r.size[1] >> 8);
    else bytes.push(0x31);
    const b = Buffer.concat([Buffer.from(bytes), Buffer.from(r.tail)]);
    return r.cut > 0 && r.cut < b.length ? b.subarray(0, b.length - r.cut) : b;
  });

/** A VP9 payload: a descriptor with any of its flags (P_DIFFs and a scalability structure included, or lying about them), then a frame header or noise. */
const vp9Payload = fc
  .record({
    // Frame starts with layer indices often enough that sequences get past a viewer's wait for a keyframe.
    flags: fc.oneof(fc.constantFrom(0xa8, 0xaa, 0xe8, 0xe0), fc.integer({ min: 0, max: 255 })),
    pictureId: fc.integer({ min: 0, max: 0xffff }),
    layers: fc.integer({ min: 0, max: 255 }),
    tl0: fc.integer({ min: 0, max: 255 }),
    refs: fc.uint8Array({ maxLength: 4 }),
    ss: fc.integer({ min: 0, max: 255 }),
    ssBody: fc.uint8Array({ maxLength: 24 }),
    header: fc.oneof(
      fc.constant(Buffer.from("824983422027f016761038241c18aa10", "hex")),
      fc.uint8Array({ maxLength: 16 }).map((a) => Buffer.from(a)),
    ),
    cut: fc.nat({ max: 20 }),
  })
  .map((r) => {
    const bytes = [r.flags];
    if (r.flags & 0x80) bytes.push(...(r.pictureId > 0x7f ? [0x80 | (r.pictureId >> 8), r.pictureId & 0xff] : [r.pictureId]));
    if (r.flags & 0x20) bytes.push(r.layers, ...(r.flags & 0x10 ? [] : [r.tl0]));
    if (r.flags & 0x10 && r.flags & 0x40) bytes.push(...r.refs);
    if (r.flags & 0x02) bytes.push(r.ss, ...r.ssBody);
    const b = Buffer.concat([Buffer.from(bytes), r.header]);
    return r.cut > 0 && r.cut < b.length ? b.subarray(0, b.length - r.cut) : b;
  });

/** An H.264 payload: single NAL units, STAP-A aggregates and FU-A fragments of any type, lengths that lie included. */
/** NAL unit headers: SPS, PPS, IDR and non-IDR slices often, any byte otherwise. */
const nal = fc.oneof(fc.constantFrom(0x67, 0x68, 0x65, 0x41), fc.integer({ min: 0, max: 255 }));
const h264Payload = fc.oneof(
  fc.tuple(nal, fc.uint8Array({ maxLength: 20 })).map(([h, rest]) => Buffer.from([h, ...rest])),
  fc
    .array(fc.tuple(fc.integer({ min: 0, max: 0xffff }), nal, fc.uint8Array({ maxLength: 8 })), { maxLength: 4 })
    .map((units) => Buffer.from([0x18, ...units.flatMap(([len, n, body]) => [len >> 8, len & 0xff, n, ...body])])),
  fc
    .tuple(fc.oneof(fc.constantFrom(0x85, 0x87, 0x45, 0x01), fc.integer({ min: 0, max: 255 })), fc.uint8Array({ maxLength: 20 }))
    .map(([fu, rest]) => Buffer.from([0x7c, fu, ...rest])),
  fc.constant(Buffer.alloc(0)),
);

/** A packet sequence: sequence numbers that walk, jump, repeat and wrap; timestamps likewise; a layer switch now and then. */
function packets(payload: fc.Arbitrary<Buffer>) {
  return fc.record({
    start: fc.integer({ min: 0, max: 0xffff }),
    ts0: fc.integer({ min: 0, max: 0xffffffff }),
    steps: fc.array(
      fc.record({
        dseq: fc.oneof(fc.constant(1), fc.constant(1), fc.integer({ min: -40, max: 40 }), fc.integer({ min: -0x8000, max: 0x8000 })),
        dts: fc.oneof(fc.constant(0), fc.constant(3000), fc.integer({ min: -0x80000000, max: 0x7fffffff })),
        marker: fc.boolean(),
        layer: fc.integer({ min: 0, max: 2 }),
        payload,
        dt: fc.oneof(fc.constant(1), fc.integer({ min: 0, max: 3000 })),
        act: fc.constantFrom("none", "none", "none", "switch", "temporal", "keyframe", "reattach"),
        arg: fc.integer({ min: 0, max: 3 }),
      }),
      { minLength: 1, maxLength: 40 },
    ),
  });
}

describe(`fuzz: relay (${RUNS} cases each)`, () => {
  test("RTP headers: parsed within the packet's bounds, or not an RTP packet", () => {
    const header = fc
      .record({
        first: fc.integer({ min: 0, max: 255 }),
        second: fc.integer({ min: 0, max: 255 }),
        fixed: fc.uint8Array({ minLength: 10, maxLength: 10 }),
        csrcs: fc.uint8Array({ maxLength: 64 }),
        extLen: fc.integer({ min: 0, max: 0xffff }),
        ext: fc.uint8Array({ maxLength: 40 }),
        payload: fc.uint8Array({ maxLength: 40 }),
        pad: fc.integer({ min: 0, max: 255 }),
      })
      .map((r) => Buffer.from([r.first, r.second, ...r.fixed, ...r.csrcs, 0xbe, 0xde, r.extLen >> 8, r.extLen & 0xff, ...r.ext, ...r.payload, r.pad]));
    fuzz(
      fc.oneof(
        header,
        fc.uint8Array({ maxLength: 80 }).map((a) => Buffer.from(a)),
      ),
      (buf) => {
        const rtp = parseRtp(buf);
        if (!rtp) return;
        assert.ok(rtp.payload.byteOffset >= buf.byteOffset + 12 && rtp.payload.byteOffset + rtp.payload.length <= buf.byteOffset + buf.length);
        assert.ok(rtp.sequenceNumber <= 0xffff && rtp.payloadType <= 0x7f);
      },
    );
  });

  test("VP8 descriptors and H.264 NAL units: read within bounds, never a throw", () => {
    fuzz(fc.oneof(vp8Payload, h264Payload), (p) => {
      const d = parseVp8Descriptor(p);
      if (d) assert.ok(d.length <= p.length && d.pictureIdAt < p.length && d.tl0At < p.length);
      const size = vp8KeyframeSize(p);
      if (size) assert.ok(size.width <= 0x3fff && size.height <= 0x3fff);
      assert.ok(vp8Temporal(p) >= -1);
      assert.equal(typeof isKeyframeStart("video/vp8", p), "boolean");
      assert.equal(typeof isKeyframeStart("video/h264", p), "boolean");
    });
  });

  test("VP9 descriptors and frame headers: read within bounds, never a throw; a guard never admits a first packet announcing more than allowed", () => {
    fuzz(vp9Payload, (p) => {
      const d = parseVp9Descriptor(p);
      if (d) assert.ok(d.length <= p.length && d.tid <= 7 && d.sid <= 7);
      const header = d ? vp9HeaderSize(p, d.length) : undefined;
      const claimed = [vp9KeyframeSize(p), typeof header === "object" ? header : undefined].filter((s) => s !== undefined);
      for (const size of claimed) assert.ok(size.width >= 1 && size.width <= 0x10000 && size.height <= 0x10000);
      assert.ok(vp9Temporal(p) >= -1 && vp9Temporal(p) <= 15);
      assert.equal(typeof isKeyframeStart("video/vp9", p), "boolean");
      const guard = new PictureGuard({ width: 64, height: 64 });
      const admitted = guard.admit("video/vp9", {
        sequenceNumber: 0,
        timestamp: 0,
        marker: true,
        payload: p,
        keyframe: isKeyframeStart("video/vp9", p),
        temporal: -1,
        receivedAt: 0,
      });
      if (d?.frameStart && claimed.some((s) => s.width > 64 || s.height > 64)) assert.equal(admitted, false);
    });
  });

  for (const [codec, payload] of [
    [VP8, vp8Payload],
    [VP9, vp9Payload],
    [H264, h264Payload],
    [OPUS, fc.uint8Array({ maxLength: 30 }).map((a) => Buffer.from(a))],
  ] as const) {
    test(`${codec.mimeType} sequences through simulcast layers to two viewers: no throw, well-formed RTP out`, () => {
      let forwarded = 0;
      fuzz(packets(payload), ({ start, ts0, steps }) => {
        const layers = [0, 1, 2].map((i) => new UpTrack({ id: `l${i}`, codec, requestKeyframe: () => {} }));
        for (const l of layers) l.setLayers(layers);
        const out: Array<{ seq: number; ts: number; bytes: number }> = [];
        const viewers = [0, 1].map(() => new DownTrack(codec, { send: (p, seq, ts) => out.push({ seq, ts, bytes: p.payload.length }) }));
        viewers[0].setSource(layers[0]);
        viewers[1].setSource(layers[2]);
        let seq = start;
        let ts = ts0;
        let now = 1000;
        for (const s of steps) {
          seq = (seq + s.dseq + 0x10000) & 0xffff;
          ts = (ts + s.dts + 0x100000000) % 0x100000000;
          now += s.dt;
          const viewer = viewers[s.arg & 1];
          if (s.act === "switch") viewer.switchLayer(layers[s.arg % 3]);
          else if (s.act === "temporal") viewer.setTemporal(s.arg);
          else if (s.act === "keyframe") viewer.requestKeyframe();
          else if (s.act === "reattach") viewer.setSource(layers[s.arg % 3]);
          layers[s.layer].push(seq, ts, s.marker, s.payload, now);
        }
        for (const o of out) {
          assert.ok(Number.isInteger(o.seq) && o.seq >= 0 && o.seq <= 0xffff, `sequence number ${o.seq}`);
          assert.ok(Number.isInteger(o.ts) && o.ts >= 0 && o.ts <= 0xffffffff, `timestamp ${o.ts}`);
        }
        forwarded += out.length;
        for (const v of viewers) v.close();
        for (const l of layers) l.close();
      });
      // Not only refusals: the sequences reach the viewers.
      assert.ok(forwarded > RUNS / 2, `${forwarded} packets forwarded`);
    });
  }
});
