/**
 * Unit tests of the viewer's element → stream pixel mapping (web/src/coords.ts).
 * They live here because the root tsconfig compiles e2e/ for node, and web/
 * is type-checked for the browser only; coords.ts has no DOM, so it compiles
 * under both.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { fromStreamPixels, pictureBox, toStreamPixels, toStreamPixelsClamped, type ObjectFit, type Rect } from "../web/src/coords.js";

const at = (left: number, top: number, width: number, height: number): Rect => ({ left, top, width, height });

describe("toStreamPixels", () => {
  const cases: { name: string; x: number; y: number; rect: Rect; w: number; h: number; fit?: ObjectFit; want: { x: number; y: number } | null }[] = [
    { name: "same size, no offset: identity", x: 10, y: 20, rect: at(0, 0, 640, 360), w: 640, h: 360, want: { x: 10, y: 20 } },
    { name: "element offset in the page", x: 110, y: 70, rect: at(100, 50, 640, 360), w: 640, h: 360, want: { x: 10, y: 20 } },
    { name: "CSS scale 2×: halves", x: 200, y: 100, rect: at(0, 0, 1280, 720), w: 640, h: 360, want: { x: 100, y: 50 } },
    { name: "CSS scale ½: doubles", x: 50, y: 25, rect: at(0, 0, 640, 360), w: 1280, h: 720, want: { x: 100, y: 50 } },
    // 16:9 in a square: 400×225 picture, bars of 87.5 px above and below.
    { name: "letterbox: top bar is outside", x: 200, y: 80, rect: at(0, 0, 400, 400), w: 1280, h: 720, want: null },
    { name: "letterbox: bottom bar is outside", x: 200, y: 313, rect: at(0, 0, 400, 400), w: 1280, h: 720, want: null },
    { name: "letterbox: picture's top-left pixel", x: 0, y: 87.5, rect: at(0, 0, 400, 400), w: 1280, h: 720, want: { x: 0, y: 0 } },
    { name: "letterbox: centre", x: 200, y: 200, rect: at(0, 0, 400, 400), w: 1280, h: 720, want: { x: 640, y: 360 } },
    { name: "letterbox: last pixel", x: 399.9, y: 312.4, rect: at(0, 0, 400, 400), w: 1280, h: 720, want: { x: 1279, y: 719 } },
    // 4:3 in a 16:9 box: 480×360 picture, 80 px bars left and right.
    { name: "pillarbox: left bar", x: 79, y: 100, rect: at(0, 0, 640, 360), w: 640, h: 480, want: null },
    { name: "pillarbox: right bar", x: 560, y: 100, rect: at(0, 0, 640, 360), w: 640, h: 480, want: null },
    { name: "pillarbox: inside", x: 80 + 240, y: 180, rect: at(0, 0, 640, 360), w: 640, h: 480, want: { x: 320, y: 240 } },
    { name: "outside the element", x: -1, y: 10, rect: at(0, 0, 640, 360), w: 640, h: 360, want: null },
    { name: "right edge is exclusive", x: 640, y: 10, rect: at(0, 0, 640, 360), w: 640, h: 360, want: null },
    { name: "unknown stream size", x: 10, y: 10, rect: at(0, 0, 640, 360), w: 0, h: 0, want: null },
    { name: "fill stretches each axis", x: 100, y: 100, rect: at(0, 0, 400, 400), w: 800, h: 200, fit: "fill", want: { x: 200, y: 50 } },
    // cover: 16:9 scaled to fill a square 400×400 → 711.1×400, cropped 155.6 px each side.
    { name: "cover crops: element centre is stream centre", x: 200, y: 200, rect: at(0, 0, 400, 400), w: 1280, h: 720, fit: "cover", want: { x: 640, y: 360 } },
    { name: "cover: element's left edge is inside the stream", x: 0.5, y: 0, rect: at(0, 0, 400, 400), w: 1280, h: 720, fit: "cover", want: { x: 280, y: 0 } },
    { name: "none: 1:1, centred", x: 200, y: 200, rect: at(0, 0, 400, 400), w: 200, h: 100, fit: "none", want: { x: 100, y: 50 } },
    { name: "none: around the picture is outside", x: 50, y: 50, rect: at(0, 0, 400, 400), w: 200, h: 100, fit: "none", want: null },
    { name: "none: inside the centred picture", x: 110, y: 160, rect: at(0, 0, 400, 400), w: 200, h: 100, fit: "none", want: { x: 10, y: 10 } },
    { name: "scale-down never enlarges", x: 160, y: 160, rect: at(0, 0, 400, 400), w: 100, h: 100, fit: "scale-down", want: { x: 10, y: 10 } },
    { name: "scale-down shrinks like contain", x: 200, y: 200, rect: at(0, 0, 400, 400), w: 800, h: 800, fit: "scale-down", want: { x: 400, y: 400 } },
  ];
  for (const c of cases) {
    test(c.name, () => assert.deepEqual(toStreamPixels(c.x, c.y, c.rect, c.w, c.h, c.fit), c.want));
  }
});

describe("toStreamPixelsClamped", () => {
  test("moves points outside the picture to its nearest edge", () => {
    const rect = at(0, 0, 400, 400);
    assert.deepEqual(toStreamPixelsClamped(200, 10, rect, 1280, 720), { x: 640, y: 0 });
    assert.deepEqual(toStreamPixelsClamped(-50, 390, rect, 1280, 720), { x: 0, y: 719 });
    assert.deepEqual(toStreamPixelsClamped(1000, 200, rect, 1280, 720), { x: 1279, y: 360 });
  });
  test("is null only while the stream size is unknown", () => {
    assert.equal(toStreamPixelsClamped(1, 1, at(0, 0, 10, 10), 0, 720), null);
  });
});

describe("pictureBox and fromStreamPixels", () => {
  test("contain centres the picture", () => {
    assert.deepEqual(pictureBox(at(10, 20, 400, 400), 1280, 720), { left: 10, top: 107.5, width: 400, height: 225, scaleX: 0.3125, scaleY: 0.3125 });
  });
  test("fromStreamPixels inverts toStreamPixels at pixel centres", () => {
    for (const fit of ["contain", "cover", "fill"] as const) {
      for (const [x, y] of [
        [0, 0],
        [639, 359],
        [100, 200],
      ]) {
        const p = fromStreamPixels(x, y, at(30, 40, 500, 300), 640, 360, fit);
        assert.ok(p);
        assert.deepEqual(toStreamPixelsClamped(p.clientX, p.clientY, at(30, 40, 500, 300), 640, 360, fit), { x, y }, `${fit} ${x},${y}`);
      }
    }
  });
});
