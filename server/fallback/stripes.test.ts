import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { chooseStripeHeight, extractStripe, type I420Frame, i420Size, StripeTracker, stripeLayout, withinTolerance } from "./stripes.js";

/** A frame whose every byte tells where it came from: plane, row and column. */
function labelledFrame(width: number, height: number): I420Frame {
  const data = Buffer.alloc(i420Size(width, height));
  const cw = width / 2;
  const ch = height / 2;
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) data[y * width + x] = (y * 7 + x) & 0xff;
  for (let y = 0; y < ch; y++) {
    for (let x = 0; x < cw; x++) {
      data[width * height + y * cw + x] = (y * 3 + x + 1) & 0xff;
      data[width * height + cw * ch + y * cw + x] = (y * 5 + x + 2) & 0xff;
    }
  }
  return { data, width, height };
}

/** Sets one pixel's luma (row y, column x) of a copy of `f`. */
function withPixel(f: I420Frame, x: number, y: number, value: number): I420Frame {
  const data = Buffer.from(f.data);
  data[y * f.width + x] = value;
  return { ...f, data };
}

/** Sets one V sample (chroma row cy, column cx) of a copy of `f`. */
function withChromaV(f: I420Frame, cx: number, cy: number, value: number): I420Frame {
  const data = Buffer.from(f.data);
  const cw = f.width / 2;
  data[f.width * f.height + cw * (f.height / 2) + cy * cw + cx] = value;
  return { ...f, data };
}

describe("stripe layout", () => {
  const cases: Array<[number, number, Array<[number, number]>]> = [
    [720, 64, [...Array.from({ length: 11 }, (_, i): [number, number] => [i * 64, 64]), [704, 16]]],
    [
      128,
      64,
      [
        [0, 64],
        [64, 64],
      ],
    ],
    [
      100,
      64,
      [
        [0, 64],
        [64, 36],
      ],
    ],
    [2, 16, [[0, 2]]],
  ];
  for (const [height, sh, expected] of cases) {
    test(`${height} rows in stripes of ${sh}`, () => {
      assert.deepEqual(
        stripeLayout(height, sh).map((s) => [s.y, s.height]),
        expected,
      );
    });
  }

  test("refuses stripe heights that are not multiples of 16 and odd frame heights", () => {
    assert.throws(() => stripeLayout(720, 60), /multiple of 16/);
    assert.throws(() => stripeLayout(720, 0), /multiple of 16/);
    assert.throws(() => stripeLayout(719, 64), /even/);
  });

  test("chooseStripeHeight is 64 up to 1440 rows, then taller multiples of 16", () => {
    for (const [w, h, sh] of [
      [640, 480, 64],
      [1280, 720, 64],
      [1920, 1080, 64],
      [2560, 1440, 64],
      [3840, 2160, 96],
      [100, 8, 64],
    ]) {
      const got = chooseStripeHeight(w, h);
      assert.equal(got, sh, `${w}x${h}`);
      assert.equal(got % 16, 0);
      assert.ok(Math.ceil(h / got) <= 24);
    }
  });

  test("extracted stripes tile the frame exactly, plane by plane", () => {
    const f = labelledFrame(48, 100);
    const stripes = stripeLayout(f.height, 32);
    const parts = stripes.map((s) => extractStripe(f, s));
    parts.forEach((p, i) => assert.equal(p.length, i420Size(48, stripes[i].height)));
    const y = Buffer.concat(parts.map((p, i) => p.subarray(0, 48 * stripes[i].height)));
    const u = Buffer.concat(parts.map((p, i) => p.subarray(48 * stripes[i].height, 48 * stripes[i].height + 24 * (stripes[i].height / 2))));
    const v = Buffer.concat(parts.map((p, i) => p.subarray(48 * stripes[i].height + 24 * (stripes[i].height / 2))));
    assert.deepEqual(Buffer.concat([y, u, v]), f.data);
  });

  test("a stripe is cut into the buffer given when it fits (a view of it), else into a new one", () => {
    const f = labelledFrame(48, 100);
    const stripes = stripeLayout(f.height, 32);
    const [first, last] = [stripes[0], stripes[stripes.length - 1]]; // 32 rows; the 4 left over
    const into = Buffer.alloc(i420Size(48, 32) + 7, 0xee);
    const a = extractStripe(f, last, into);
    assert.equal(a.buffer, into.buffer);
    assert.equal(a.byteOffset, into.byteOffset);
    assert.deepEqual(a, extractStripe(f, last));
    const b = extractStripe(f, first, into.subarray(0, 10));
    assert.notEqual(b.buffer, into.buffer, "too small: a new buffer");
    assert.deepEqual(b, extractStripe(f, first));
  });

  test("refuses frames with odd sizes or too few bytes", () => {
    assert.throws(() => extractStripe({ data: Buffer.alloc(1000), width: 15, height: 10 }, { y: 0, height: 10 }), /even/);
    assert.throws(() => extractStripe({ data: Buffer.alloc(10), width: 16, height: 16 }, { y: 0, height: 16 }), /needs 384 bytes, got 10/);
  });
});

describe("StripeTracker", () => {
  test("the first frame sends every stripe", () => {
    const t = new StripeTracker();
    const u = t.update(labelledFrame(64, 200));
    assert.equal(t.stripeHeight, 64);
    assert.deepEqual(u.changed, [0, 1, 2, 3]);
    assert.deepEqual(u.paintOver, []);
    assert.equal(u.refresh, true);
  });

  test("only the stripes whose luma or chroma changed are sent", () => {
    const t = new StripeTracker({ stripeHeight: 16 });
    const f = labelledFrame(32, 64);
    t.update(f);
    assert.deepEqual(t.update(f).changed, []);
    const g = withPixel(f, 31, 17, 0);
    const u = t.update(g);
    assert.deepEqual(u.changed, [1]);
    assert.equal(u.refresh, false);
    // Chroma row 31 covers luma rows 62-63: the last stripe.
    assert.deepEqual(t.update(withChromaV(g, 0, 31, 9)).changed, [3]);
    // Back to an earlier picture: both stripes differ from the last one sent.
    assert.deepEqual(t.update(f).changed, [1, 3]);
  });

  test("with a tolerance, small wobbles (decoded lossy video) count as still, larger changes do not", () => {
    const t = new StripeTracker({ stripeHeight: 16, tolerance: 16 });
    const f = labelledFrame(32, 64);
    t.update(f);
    const v = f.data[17 * 32 + 5];
    const wobble = withPixel(f, 5, 17, v + (v > 200 ? -16 : 16));
    assert.deepEqual(t.update(wobble).changed, [], "16 levels is within the tolerance");
    assert.deepEqual(t.update(withPixel(f, 5, 17, v > 200 ? v - 17 : v + 17)).changed, [1], "17 levels is a change");
  });

  test("a stripe still for N frames is painted over exactly once, and again after it changes and stills", () => {
    const t = new StripeTracker({ stripeHeight: 16, paintOverFrames: 3 });
    const f = labelledFrame(16, 32);
    const g = withPixel(f, 0, 20, 1);
    const got = [f, f, f, f, f, g, f, f, f, f, f, f].map((frame) => {
      const u = t.update(frame);
      return `${u.changed.join("")}/${u.paintOver.join("")}`;
    });
    // Both still from frame 0; stripe 1 changes at frame 5 and back at 6, then stills again.
    assert.deepEqual(got, ["01/", "/", "/", "/01", "/", "1/", "1/", "/", "/", "/1", "/", "/"]);
  });

  test("forceRefresh makes the next frame send every stripe, once", () => {
    const t = new StripeTracker({ stripeHeight: 16 });
    const f = labelledFrame(16, 48);
    t.update(f);
    t.forceRefresh();
    const u = t.update(f);
    assert.deepEqual(u.changed, [0, 1, 2]);
    assert.equal(u.refresh, true);
    assert.deepEqual(t.update(f).changed, []);
  });

  test("a size change resets the tiling and sends every stripe", () => {
    const t = new StripeTracker();
    t.update(labelledFrame(32, 128));
    const u = t.update(labelledFrame(64, 200));
    assert.equal(u.refresh, true);
    assert.deepEqual(
      u.stripes.map((s) => s.height),
      [64, 64, 64, 8],
    );
    assert.deepEqual(u.changed, [0, 1, 2, 3]);
    assert.deepEqual(t.update(labelledFrame(64, 200)).changed, []);
  });

  test("a 720p frame is compared in well under a millisecond", () => {
    const t = new StripeTracker();
    const f = labelledFrame(1280, 720);
    t.update(f);
    const rounds = 50;
    const start = performance.now();
    for (let i = 0; i < rounds; i++) t.update(f);
    const perFrame = (performance.now() - start) / rounds;
    assert.ok(perFrame < 1, `${perFrame.toFixed(3)} ms per frame`);
  });
});

describe("withinTolerance", () => {
  /** The rule, one sample at a time. */
  const reference = (a: Buffer, b: Buffer, start: number, end: number, tolerance: number) => {
    for (let i = start; i < end; i++) if (Math.abs(a[i] - b[i]) > tolerance) return false;
    return true;
  };

  test("agrees with the sample-by-sample rule at every alignment, length, tolerance and difference", () => {
    let seed = 12345;
    const random = () => (seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32;
    const backing = Buffer.alloc(256);
    let disagreements = 0;
    let within = 0;
    for (let n = 0; n < 20_000; n++) {
      const len = Math.floor(random() * 40);
      // Views at each offset into one allocation: aligned alike, or not.
      const a = backing.subarray(Math.floor(random() * 8), 200);
      const b = Buffer.alloc(192).subarray(Math.floor(random() * 8));
      const start = Math.floor(random() * 5);
      const tolerance = Math.floor(random() * 40);
      for (let i = 0; i < start + len; i++) {
        a[i] = Math.floor(random() * 256);
        const d = random() < 0.5 ? 0 : Math.round((random() - 0.5) * 2 * (tolerance + 3));
        b[i] = Math.max(0, Math.min(255, a[i] + d));
      }
      const want = reference(a, b, start, start + len, tolerance);
      if (withinTolerance(a, b, start, start + len, tolerance) !== want) disagreements++;
      if (want) within++;
    }
    assert.equal(disagreements, 0);
    assert.ok(within > 2000 && within < 18_000, `both answers were tried (${within} within)`);
  });

  test("a difference just past the tolerance, in either direction and in any sample of a word, is found", () => {
    for (const tolerance of [0, 1, 16, 254]) {
      for (let at = 0; at < 8; at++) {
        for (const sign of [1, -1]) {
          const a = Buffer.alloc(8, 128);
          const b = Buffer.alloc(8, 128);
          b[at] = Math.max(0, Math.min(255, 128 + sign * (tolerance + 1)));
          const over = Math.abs(a[at] - b[at]) > tolerance;
          assert.equal(withinTolerance(a, b, 0, 8, tolerance), !over, `tolerance ${tolerance}, sample ${at}, ${sign > 0 ? "above" : "below"}`);
          b[at] = Math.max(0, Math.min(255, 128 + sign * tolerance));
          assert.equal(withinTolerance(a, b, 0, 8, tolerance), true);
        }
      }
    }
    assert.throws(() => withinTolerance(Buffer.alloc(4), Buffer.alloc(4), 0, 4, -1), /tolerance/);
  });
});
