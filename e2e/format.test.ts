/** Unit tests of web/src/format.ts (see e2e/coords.test.ts for why they live in e2e/). */
import assert from "node:assert/strict";
import { test } from "node:test";
import { codecLabel, stateEntries, stateValue } from "../web/src/format.js";

test("device state reads as people read it: on/off, shares in percent, short numbers and text", () => {
  const cases: Array<[unknown, string]> = [
    [true, "on"],
    [false, "off"],
    [0.8, "80%"],
    [0.055, "6%"],
    [0, "0"],
    [1, "1"],
    [21.456, "21.46"],
    [-0.5, "-0.5"],
    ["charging", "charging"],
    ["x".repeat(50), `${"x".repeat(39)}…`],
    [[true, false], "on, off"],
    [{ a: 1 }, '{"a":1}'],
  ];
  for (const [value, text] of cases) assert.equal(stateValue(value), text, JSON.stringify(value));
  assert.deepEqual(stateEntries({ type: "state", battery: 0.8, leds: [true, false] }), [
    ["battery", "80%"],
    ["leds", "on, off"],
  ]);
  assert.equal(codecLabel("audio/opus"), "Opus");
  assert.equal(codecLabel("video/vp8"), "VP8");
});
