import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { RtpVideoCodec } from "../../pipelines/descriptions.js";
import type { I420Picture } from "../../pipelines/i420.js";
import { JpegStripeEncoder } from "../../pipelines/jpeg-stripe-encoder.js";
import { GstPipeline } from "../../pipelines/pipeline.js";
import { RtpDecoder } from "../../pipelines/picture-decoders.js";
import { annexBNalTypes, X264StripeEncoder } from "../../pipelines/x264-stripe-encoder.js";
import { extractStripe, StripeTracker } from "./stripes.js";
import { encodeH264Stripe, encodeJpegStripe, parseStripe } from "./wire.js";

/** A moving test pattern as RTP, `frames` pictures long. */
function rtpSource(codec: RtpVideoCodec, width: number, height: number, frames: number): GstPipeline {
  const encode =
    codec === "vp8"
      ? "vp8enc deadline=1 cpu-used=8 keyframe-max-dist=30 ! rtpvp8pay mtu=1200 pt=96"
      : "x264enc tune=zerolatency speed-preset=ultrafast key-int-max=30 ! video/x-h264,profile=constrained-baseline ! " +
        "rtph264pay mtu=1200 pt=96 config-interval=-1 aggregate-mode=zero-latency";
  return new GstPipeline(
    `videotestsrc is-live=true num-buffers=${frames} pattern=ball ! video/x-raw,width=${width},height=${height},framerate=30/1 ! ` +
      `${encode} ! appsink name=rtp sync=false`,
  );
}

/** Decodes `frames` pictures of a test pattern sent as RTP. */
async function decodedPictures(codec: RtpVideoCodec, width: number, height: number, frames: number): Promise<I420Picture[]> {
  const pictures: I420Picture[] = [];
  const errors: string[] = [];
  const decoder = new RtpDecoder(codec, (p) => pictures.push(p), { onError: (m) => errors.push(m) });
  const source = rtpSource(codec, width, height, frames + 10);
  try {
    source.start();
    source.pullFrom("rtp", (rtp) => decoder.push(rtp));
    const deadline = performance.now() + 10_000;
    while (pictures.length < frames && performance.now() < deadline && errors.length === 0) {
      await new Promise((r) => setTimeout(r, 20));
    }
  } finally {
    source.close();
    decoder.close();
  }
  assert.deepEqual(errors, []);
  assert.ok(pictures.length >= frames, `decoded ${pictures.length} of ${frames} pictures`);
  return pictures;
}

describe("fallback stream through real pipelines", () => {
  for (const codec of ["vp8", "h264"] as const) {
    test(`${codec} RTP decodes to packed I420 pictures of the sent size`, async () => {
      const pictures = await decodedPictures(codec, 320, 240, 10);
      for (const p of pictures) assert.deepEqual([p.width, p.height, p.data.length], [320, 240, (320 * 240 * 3) / 2]);
    });
  }

  test("a burst of frames pushed at once comes out as one picture per frame, none dropped", async () => {
    // The picture source pairs each picture with its frame's arrival, in order (fallback latency):
    // a decoder that dropped pictures of a backlog would shift every pairing after it for good.
    const frames = 40;
    const packets: Buffer[] = [];
    let markers = 0;
    const source = rtpSource("vp8", 160, 96, frames + 10);
    try {
      source.start();
      source.pullFrom("rtp", (rtp) => {
        if (markers >= frames) return;
        packets.push(Buffer.from(rtp));
        if (rtp[1] & 0x80) markers++;
      });
      const deadline = performance.now() + 10_000;
      while (markers < frames && performance.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    } finally {
      source.close();
    }
    assert.equal(markers, frames, "the test pattern's frames as RTP");
    let pictures = 0;
    const errors: string[] = [];
    const decoder = new RtpDecoder("vp8", () => pictures++, { onError: (m) => errors.push(m) });
    try {
      for (const p of packets) decoder.push(p);
      const deadline = performance.now() + 10_000;
      while (pictures < frames && performance.now() < deadline && errors.length === 0) await new Promise((r) => setTimeout(r, 20));
    } finally {
      decoder.close();
    }
    assert.deepEqual(errors, []);
    assert.equal(pictures, frames);
  });

  test("decoded VP8 → stripes → JPEG stripe messages that parse back", async () => {
    const pictures = await decodedPictures("vp8", 320, 200, 5);
    const tracker = new StripeTracker();
    const jpeg = new JpegStripeEncoder();
    try {
      const first = tracker.update(pictures[0]);
      assert.deepEqual(
        first.stripes.map((s) => s.height),
        [64, 64, 64, 8],
      );
      for (const i of first.changed) {
        const rows = first.stripes[i];
        const data = extractStripe(pictures[0], rows);
        const out = await jpeg.encode({ data, width: 320, height: rows.height }, 40);
        const msg = parseStripe(encodeJpegStripe(0, rows.y, out));
        assert.equal(msg.kind, "jpeg");
        assert.equal(msg.y, rows.y);
        if (msg.kind === "jpeg") assert.deepEqual([msg.jpeg[0], msg.jpeg[1], msg.jpeg.at(-2), msg.jpeg.at(-1)], [0xff, 0xd8, 0xff, 0xd9]);
      }
      // The ball moves: a later picture changes some stripes, not necessarily all.
      const later = tracker.update(pictures[4]);
      assert.ok(later.changed.length > 0 && !later.refresh);
    } finally {
      jpeg.close();
    }
  });

  test("decoded H.264 → one x264 encoder per stripe → H.264 stripe messages, IDR first", async () => {
    const pictures = await decodedPictures("h264", 320, 128, 3);
    const tracker = new StripeTracker();
    const { stripes } = tracker.update(pictures[0]);
    const encoders = stripes.map((s) => new X264StripeEncoder({ width: 320, height: s.height }));
    try {
      for (const [n, picture] of pictures.entries()) {
        const outs = await Promise.all(stripes.map((s, i) => encoders[i].encode(extractStripe(picture, s))));
        outs.forEach((out, i) => {
          const msg = parseStripe(encodeH264Stripe({ idr: out.idr, frameId: n, y: stripes[i].y, width: 320, height: stripes[i].height }, out.annexB));
          assert.equal(msg.kind === "h264" && msg.idr, n === 0, `picture ${n} stripe ${i}`);
          if (n === 0)
            assert.deepEqual(
              annexBNalTypes(out.annexB).filter((t) => t === 7 || t === 5),
              [7, 5],
            );
        });
      }
    } finally {
      for (const e of encoders) e.close();
    }
  });
});
