import assert from "node:assert/strict";
import { after, describe, test } from "node:test";
import { waitFor } from "../e2e/lib/signaling-client.js";
import { JpegStripeEncoder } from "./jpeg-stripe-encoder.js";
import { GstPipeline, idlePipelines, pipelinesMade } from "./pipeline.js";
import { annexBNalTypes, X264StripeEncoder } from "./x264-stripe-encoder.js";

/** Native pipelines made since `since` (pipelinesMade, helperPipelines), the helpers' own left out. */
function encodersMade(since: { made: number; helpers: number }): number {
  return pipelinesMade() - since.made - (helperPipelines - since.helpers);
}

/** A packed I420 stripe with a diagonal luma pattern shifted by `phase`. */
function stripe(width: number, height: number, phase = 0): Buffer {
  const data = Buffer.alloc((width * height * 3) / 2, 128);
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) data[y * width + x] = (x * 3 + y * 5 + phase) & 0xff;
  return data;
}

/** Pipelines the helpers below made (each makes one), for tests that count the encoders' own. */
let helperPipelines = 0;

/** Pushes one buffer into `appsrc name=in` of `p` (a pipeline of its own, closed after) and returns the size in the caps of what `appsink name=out` gives. */
function sizeThrough(p: GstPipeline, input: Buffer, what: string): Promise<{ width: number; height: number }> {
  helperPipelines++;
  return new Promise<{ width: number; height: number }>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${what} produced nothing`)), 5000);
    p.start();
    p.pullFrom("out", (_buf, caps) => {
      clearTimeout(timer);
      resolve({ width: caps.width as number, height: caps.height as number });
    });
    p.pushTo("in", input);
  }).finally(() => p.close());
}

/** Decodes a JPEG with jpegdec and returns the picture's size from its caps. */
function jpegCaps(jpeg: Buffer): Promise<{ width: number; height: number }> {
  return sizeThrough(new GstPipeline(`appsrc name=in caps=image/jpeg ! jpegdec ! appsink name=out sync=false`), jpeg, "jpegdec");
}

/** The size h264parse reads from an access unit's SPS. */
function h264Caps(annexB: Buffer): Promise<{ width: number; height: number }> {
  return sizeThrough(
    new GstPipeline(
      `appsrc name=in caps=video/x-h264,stream-format=byte-stream,alignment=au ! h264parse ! video/x-h264,stream-format=byte-stream ! appsink name=out sync=false`,
    ),
    annexB,
    "h264parse",
  );
}

function median(xs: number[]): number {
  return [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
}

describe("JpegStripeEncoder", () => {
  const jpeg = new JpegStripeEncoder();
  after(() => jpeg.close());

  test("encodes a stripe to one JPEG that decodes back to the stripe's size", async () => {
    const out = await jpeg.encode({ data: stripe(1280, 64), width: 1280, height: 64 }, 40);
    assert.deepEqual([...out.subarray(0, 2)], [0xff, 0xd8]);
    assert.deepEqual([...out.subarray(-2)], [0xff, 0xd9]);
    assert.deepEqual(await jpegCaps(out), { width: 1280, height: 64 });
  });

  test("quality changes per stripe on one pipeline; sizes share a pipeline each", async () => {
    const s = { data: stripe(1280, 64), width: 1280, height: 64 };
    const [low, high, lowAgain] = await Promise.all([jpeg.encode(s, 40), jpeg.encode(s, 90), jpeg.encode(s, 40)]);
    assert.ok(high.length > low.length * 1.3, `q90 ${high.length} B vs q40 ${low.length} B`);
    assert.deepEqual(lowAgain, low);
    const last = await jpeg.encode({ data: stripe(1280, 16), width: 1280, height: 16 }, 40);
    assert.deepEqual(await jpegCaps(last), { width: 1280, height: 16 });
    // A width whose chroma rows GStreamer pads (50 → 52 bytes).
    assert.deepEqual(await jpegCaps(await jpeg.encode({ data: stripe(100, 64), width: 100, height: 64 }, 60)), { width: 100, height: 64 });
  });

  test("a new width takes up the pipelines of the old one: sizes come and go without new ones", async (t) => {
    const encoder = new JpegStripeEncoder();
    try {
      const before = { made: pipelinesMade(), helpers: helperPipelines };
      for (let i = 0; i < 10; i++) {
        const width = 320 + 16 * i;
        // A frame's two stripe heights, at the qualities the fallback uses (each pipeline is told its own).
        const [full, last] = await Promise.all([
          encoder.encode({ data: stripe(width, 64, i), width, height: 64 }, 40 + i),
          encoder.encode({ data: stripe(width, 16, i), width, height: 16 }, 90),
        ]);
        assert.deepEqual(await jpegCaps(full), { width, height: 64 });
        assert.deepEqual(await jpegCaps(last), { width, height: 16 });
      }
      const made = encodersMade(before);
      t.diagnostic(`ten widths, two stripe heights each: ${made} pipelines made (20 when each size had a description of its own)`);
      // A closed pipeline goes back to the pool once its bus poll ends, so the next width may come before it does.
      assert.ok(made <= 6, `${made} pipelines made`);
    } finally {
      encoder.close();
    }
    // Each pipeline is told its quality when it starts: one taken up again does not keep its last owner's.
    const s = { data: stripe(640, 64, 3), width: 640, height: 64 };
    const sizes: number[] = [];
    for (const quality of [10, 95, 10]) {
      const once = new JpegStripeEncoder();
      const idleBefore = idlePipelines();
      try {
        sizes.push((await once.encode(s, quality)).length);
      } finally {
        once.close();
      }
      await waitFor(() => idlePipelines() >= idleBefore, 5000, "the pipeline back in the pool");
    }
    assert.ok(sizes[1] > 1.5 * sizes[0], `quality 95: ${sizes[1]} B, quality 10: ${sizes[0]} B`);
    assert.equal(sizes[2], sizes[0], "quality 10 again on a reused pipeline");
  });

  test("a 1280×64 stripe encodes in a few milliseconds", async (t) => {
    const times: number[] = [];
    let bytes = 0;
    for (let i = 0; i < 30; i++) {
      const s = { data: stripe(1280, 64, i), width: 1280, height: 64 };
      const start = performance.now();
      bytes = (await jpeg.encode(s, 40)).length;
      times.push(performance.now() - start);
    }
    t.diagnostic(`JPEG q40 1280x64: median ${median(times).toFixed(2)} ms, ${bytes} B`);
    assert.ok(median(times) < 10);
  });

  test("closed mid-picture, an encoder lets that picture out and leaves its pipeline for reuse, holding nothing of it", async () => {
    const size = { width: 320, height: 48 };
    const a = { data: stripe(320, 48, 7), ...size };
    const b = { data: stripe(320, 48, 99), ...size };
    const closing = new JpegStripeEncoder();
    await closing.encode(a, 50);
    const idleBefore = idlePipelines();
    const inFlight = closing.encode(b, 50);
    closing.close();
    await assert.rejects(inFlight, /closed/);
    const deadline = performance.now() + 5000;
    while (idlePipelines() <= idleBefore && performance.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    assert.ok(idlePipelines() > idleBefore, "the pipeline went back to the pool");
    // The next encoder of that size takes the pooled pipeline: its first output is its own picture, not the one let out.
    const next = new JpegStripeEncoder();
    try {
      assert.deepEqual(await next.encode(a, 50), await jpeg.encode(a, 50));
    } finally {
      next.close();
    }
  });

  test("refuses bad quality, wrong sizes, and work after close", async () => {
    const s = { data: stripe(64, 16), width: 64, height: 16 };
    await assert.rejects(jpeg.encode(s, 0), /quality must be an integer in 1\.\.100/);
    await assert.rejects(jpeg.encode({ ...s, height: 32 }, 40), /64x32 stripe has 3072 bytes, got 1536/);
    const closed = new JpegStripeEncoder();
    closed.close();
    await assert.rejects(closed.encode(s, 40), /closed/);
  });
});

describe("X264StripeEncoder", () => {
  test("the first picture is SPS + PPS + IDR in Annex-B; later ones are deltas until an IDR is asked for", async (t) => {
    const enc = new X264StripeEncoder({ width: 1280, height: 64 });
    try {
      const first = await enc.encode(stripe(1280, 64));
      assert.deepEqual([...first.annexB.subarray(0, 4)], [0, 0, 0, 1]);
      const types = annexBNalTypes(first.annexB);
      assert.ok(types.includes(7) && types.includes(8) && types.includes(5), `NAL types ${types}`);
      assert.ok(types.indexOf(7) < types.indexOf(5));
      assert.equal(first.idr, true);
      const times: number[] = [];
      const idrs: number[] = [];
      for (let i = 1; i <= 30; i++) {
        const start = performance.now();
        const p = await enc.encode(stripe(1280, 64, i * 2), { idr: i === 10 || i === 11 });
        times.push(performance.now() - start);
        if (p.idr) idrs.push(i);
        assert.equal(annexBNalTypes(p.annexB).includes(7), p.idr, `picture ${i}: SPS with every IDR only`);
      }
      assert.deepEqual(idrs, [10, 11]);
      t.diagnostic(`x264 1280x64: median ${median(times).toFixed(2)} ms per picture`);
    } finally {
      enc.close();
    }
  });

  test("an encoder of a new size takes up a stopped one of another, and encodes at its own size", async () => {
    const before = { made: pipelinesMade(), helpers: helperPipelines };
    for (const [width, height] of [
      [320, 64],
      [640, 64],
      [640, 32],
      [1280, 64],
      [320, 64],
    ]) {
      const enc = new X264StripeEncoder({ width, height });
      let idleBefore = idlePipelines();
      try {
        const first = await enc.encode(stripe(width, height));
        assert.equal(first.idr, true);
        assert.deepEqual(await h264Caps(first.annexB), { width, height });
        idleBefore = idlePipelines();
      } finally {
        enc.close();
      }
      // Closed with nothing in flight, the pipeline is back in the pool once its bus poll has ended.
      await waitFor(() => idlePipelines() > idleBefore, 5000, "the pipeline back in the pool");
    }
    assert.ok(encodersMade(before) <= 1, `${encodersMade(before)} pipelines made for five sizes`);
  });

  test("bitrate mode, a padded width, and closing rejects pending pictures", async () => {
    const enc = new X264StripeEncoder({ width: 100, height: 16, bitrateKbps: 200 });
    const first = await enc.encode(stripe(100, 16));
    assert.equal(first.idr, true);
    await assert.rejects(enc.encode(Buffer.alloc(10)), /100x16 stripe has 2400 bytes, got 10/);
    const pending = [enc.encode(stripe(100, 16, 1)), enc.encode(stripe(100, 16, 2)), enc.encode(stripe(100, 16, 3))];
    enc.close();
    const settled = await Promise.allSettled(pending);
    assert.ok(settled.some((s) => s.status === "rejected" && /closed/.test(String(s.reason))));
    assert.equal(enc.closed, true);
  });
});
