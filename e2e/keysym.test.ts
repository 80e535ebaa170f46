/** Unit tests of web/src/keysym.ts (see e2e/coords.test.ts for why they live in e2e/). */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { charKeysym, keysymFor, PressedKeys } from "../web/src/keysym.js";

describe("keysymFor", () => {
  const cases: [key: string, code: string, want: number | undefined][] = [
    ["a", "KeyA", 0x61],
    ["A", "KeyA", 0x41],
    ["H", "KeyH", 72],
    [" ", "Space", 0x20],
    ["~", "Backquote", 0x7e],
    ["é", "Quote", 0xe9],
    ["ÿ", "", 0xff],
    ["€", "KeyE", 0x010020ac],
    ["😀", "", 0x0101f600],
    ["Enter", "Enter", 0xff0d],
    ["Enter", "NumpadEnter", 0xff8d],
    ["Backspace", "Backspace", 0xff08],
    ["Tab", "Tab", 0xff09],
    ["Escape", "Escape", 0xff1b],
    ["ArrowLeft", "ArrowLeft", 0xff51],
    ["ArrowUp", "ArrowUp", 0xff52],
    ["ArrowRight", "ArrowRight", 0xff53],
    ["ArrowDown", "ArrowDown", 0xff54],
    ["Home", "Home", 0xff50],
    ["End", "End", 0xff57],
    ["PageUp", "PageUp", 0xff55],
    ["PageDown", "PageDown", 0xff56],
    ["Insert", "Insert", 0xff63],
    ["Delete", "Delete", 0xffff],
    ["F1", "F1", 0xffbe],
    ["F12", "F12", 0xffc9],
    ["Shift", "ShiftLeft", 0xffe1],
    ["Shift", "ShiftRight", 0xffe2],
    ["Control", "ControlLeft", 0xffe3],
    ["Control", "ControlRight", 0xffe4],
    ["Alt", "AltLeft", 0xffe9],
    ["Alt", "AltRight", 0xffea],
    ["AltGraph", "AltRight", 0xfe03],
    ["Meta", "MetaLeft", 0xffeb],
    ["Meta", "MetaRight", 0xffec],
    ["CapsLock", "CapsLock", 0xffe5],
    ["Shift", "", 0xffe1],
    ["Dead", "BracketLeft", undefined],
    ["Unidentified", "", undefined],
    ["F13", "F13", undefined],
  ];
  for (const [key, code, want] of cases) {
    test(`${JSON.stringify(key)} (${code || "no code"}) → ${want === undefined ? "nothing" : "0x" + want.toString(16)}`, () => {
      assert.equal(keysymFor(key, code), want);
    });
  }
});

test("charKeysym refuses control characters and strings of several characters", () => {
  assert.equal(charKeysym("\n"), undefined);
  assert.equal(charKeysym("\u0085"), undefined);
  assert.equal(charKeysym("ab"), undefined);
  assert.equal(charKeysym(""), undefined);
  assert.equal(charKeysym("\u00a0"), 0xa0);
});

describe("PressedKeys", () => {
  test("a key's up repeats its down, even when Shift changed in between", () => {
    const keys = new PressedKeys();
    assert.equal(keys.down("Shift", "ShiftLeft"), 0xffe1);
    assert.equal(keys.down("A", "KeyA"), 0x41);
    assert.equal(keys.up("Shift", "ShiftLeft"), 0xffe1);
    assert.equal(keys.up("a", "KeyA"), 0x41, "not 0x61: that would leave A down on the device");
    assert.equal(keys.size, 0);
  });
  test("auto-repeat sends the same keysym", () => {
    const keys = new PressedKeys();
    assert.equal(keys.down("a", "KeyA"), 0x61);
    assert.equal(keys.down("A", "KeyA"), 0x61);
    assert.equal(keys.size, 1);
  });
  test("an up without a down maps on its own; clear forgets", () => {
    const keys = new PressedKeys();
    assert.equal(keys.up("b", "KeyB"), 0x62);
    keys.down("c", "KeyC");
    keys.clear();
    assert.equal(keys.size, 0);
  });
});
