import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { chooseLayer, layerOrder, STAY_HEADROOM, type LayerInfo } from "./layer-select.js";

const LAYERS: LayerInfo[] = [
  { width: 320, bitrate: 150_000 },
  { width: 640, bitrate: 500_000 },
  { width: 1280, bitrate: 2_000_000 },
];

describe("chooseLayer", () => {
  test("with nothing known, the top layer", () => {
    assert.equal(chooseLayer(LAYERS, {}, -1), 2);
  });
  test("the smallest layer at least as wide as the picture shown", () => {
    assert.equal(chooseLayer(LAYERS, { renderWidth: 300 }, -1), 0);
    assert.equal(chooseLayer(LAYERS, { renderWidth: 340 }, -1), 0, "within 10 % is wide enough");
    assert.equal(chooseLayer(LAYERS, { renderWidth: 400 }, -1), 1);
    assert.equal(chooseLayer(LAYERS, { renderWidth: 1000 }, -1), 2);
    assert.equal(chooseLayer(LAYERS, { renderWidth: 4000 }, -1), 2, "wider than every layer: the top one");
  });
  test("congestion moves down to the highest layer that fits; the estimate never moves up", () => {
    assert.equal(chooseLayer(LAYERS, { bandwidth: 400_000 }, 2), 0);
    assert.equal(chooseLayer(LAYERS, { bandwidth: 600_000 }, 2), 1);
    assert.equal(chooseLayer(LAYERS, { bandwidth: 100_000 }, 2), 0, "the lowest layer when none fits");
    assert.equal(chooseLayer(LAYERS, { bandwidth: 2_000_000 / STAY_HEADROOM }, 2), 2, "the current layer still fits: stay");
    assert.equal(chooseLayer(LAYERS, { bandwidth: 10_000_000, renderWidth: 600 }, 2), 1, "size caps the layer whatever the bandwidth");
  });
  test("up one layer at a time, and only when the caller allows it", () => {
    assert.equal(chooseLayer(LAYERS, { bandwidth: 700_000 }, 0), 1, "the estimate near the current rate does not block a climb");
    assert.equal(chooseLayer(LAYERS, {}, 1), 2);
    assert.equal(chooseLayer(LAYERS, { mayClimb: false }, 0), 0, "held after congestion");
    assert.equal(chooseLayer(LAYERS, { mayClimb: false, renderWidth: 300 }, 2), 0, "going down by size is never held");
    assert.equal(chooseLayer(LAYERS, {}, -1), 2, "the first choice is not a climb");
  });
  test("layers not being sent are skipped; with none sent the current one stays", () => {
    const paused = [LAYERS[0], LAYERS[1], { width: 1280, bitrate: 0 }];
    assert.equal(chooseLayer(paused, {}, 2), 1);
    assert.equal(
      chooseLayer(
        LAYERS.map((l) => ({ ...l, bitrate: 0 })),
        {},
        1,
      ),
      1,
    );
  });
});

describe("layerOrder", () => {
  test("by width when every width is known, else by bitrate, else as given", () => {
    assert.deepEqual(layerOrder([LAYERS[2], LAYERS[0], LAYERS[1]]), [1, 2, 0]);
    const unknown = [
      { width: undefined, bitrate: 900 },
      { width: undefined, bitrate: 100 },
    ];
    assert.deepEqual(layerOrder(unknown), [1, 0]);
    assert.deepEqual(
      layerOrder([
        { width: undefined, bitrate: 0 },
        { width: undefined, bitrate: 0 },
      ]),
      [0, 1],
    );
    // The top layer's width is not known yet: never sorted below the ones whose width is.
    assert.deepEqual(
      layerOrder([
        { width: 160, bitrate: 150_000 },
        { width: 320, bitrate: 500_000 },
        { width: undefined, bitrate: 1_800_000 },
      ]),
      [0, 1, 2],
    );
    assert.deepEqual(
      layerOrder([
        { width: 1280, bitrate: 2_000_000 },
        { width: undefined, bitrate: 150_000 },
      ]),
      [1, 0],
    );
  });
});
