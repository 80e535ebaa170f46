import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { Keymap, MAX_REMAPPED } from "./keymap.js";

const a = 0x61;
const A = 0x41;
const lambda = 0x010003bb;

/** Keycodes 8..: 8 'a A', 9 empty, 10 'Return', 11 and 12 empty. */
function rows(): number[][] {
  return [
    [a, A, a, A],
    [0, 0, 0, 0],
    [0xff0d, 0, 0xff0d, 0],
    [0, 0, 0, 0],
    [0, 0, 0, 0],
  ];
}

describe("Keymap", () => {
  test("finds keysyms on the unshifted level first, then the shifted one", () => {
    const map = new Keymap(8, rows());
    assert.deepEqual(map.find(a), { keycode: 8, shift: false });
    assert.deepEqual(map.find(A), { keycode: 8, shift: true });
    assert.deepEqual(map.find(0xff0d), { keycode: 10, shift: false });
    assert.equal(map.find(lambda), undefined);
  });

  test("borrows spare keycodes from the end, then reuses the least recently used one that is not held", () => {
    const map = new Keymap(8, rows());
    assert.deepEqual(map.remap(lambda, new Set()), { keycode: 12, keysyms: [lambda, lambda, 0, 0] });
    assert.deepEqual(map.find(lambda), { keycode: 12, shift: false });
    assert.equal(map.remap(0xe9, new Set())?.keycode, 11);
    assert.equal(map.remap(0xfc, new Set())?.keycode, 9);
    map.find(lambda); // λ is now more recent than é
    assert.equal(map.remap(0xf6, new Set([11]))?.keycode, 9, "é's keycode is held, ü's is next");
    assert.equal(map.find(0xfc), undefined);
    assert.deepEqual(
      map.borrowed.sort((x, y) => x - y),
      [9, 11, 12],
    );
    assert.equal(map.remap(0x1, new Set([9, 11, 12])), undefined, "nothing free");
  });

  test("borrows at most MAX_REMAPPED keycodes", () => {
    const map = new Keymap(
      8,
      Array.from({ length: MAX_REMAPPED + 5 }, () => [0, 0]),
    );
    for (let i = 0; i < MAX_REMAPPED + 3; i++) map.remap(0x01000100 + i, new Set());
    assert.equal(map.borrowed.length, MAX_REMAPPED);
  });

  test("reload keeps borrowed keycodes that still carry their keysym and frees the rest", () => {
    const map = new Keymap(8, rows());
    map.remap(lambda, new Set());
    map.remap(0xe9, new Set());
    const fresh = rows();
    fresh[4] = [lambda, lambda, 0, 0];
    map.reload(fresh);
    assert.deepEqual(map.borrowed, [12]);
    assert.equal(map.find(0xe9), undefined);
    assert.equal(map.remap(0xe9, new Set())?.keycode, 11);
  });
});
