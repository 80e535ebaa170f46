/** Unit tests of web/src/format.ts (see e2e/coords.test.ts for why they live in e2e/). */
import assert from "node:assert/strict";
import { test } from "node:test";
import { codecLabel, stateEntries, stateValue } from "../web/src/format.js";
import { ID_PATTERN as PAGE_ID_PATTERN } from "../web/src/signaling.js";
import { isDeviceInfo } from "../web/src/device-info.js";
import { ID_PATTERN } from "../server/protocol/messages.js";

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

test("device state nested thousands deep (any device of the account may send it) reads as an ellipsis, never a stack overflow", () => {
  const deepArray: unknown = JSON.parse("[".repeat(32_000) + "]".repeat(32_000));
  assert.equal(stateValue(deepArray), "[…]");
  const deepObject: unknown = JSON.parse('{"a":'.repeat(32_000) + "1" + "}".repeat(32_000));
  assert.equal(stateValue(deepObject), "{…}");
  assert.equal(stateValue([[1, [2, [3]]]]), "1, […]");
  assert.equal(stateValue(Array.from({ length: 100 }, (_, i) => i)), "0, 1, 2, 3, 4, 5, 6, 7, 8, 9");
});

test("the pages' device id pattern is the server's", () => {
  assert.equal(PAGE_ID_PATTERN.source, ID_PATTERN.source);
  assert.equal(PAGE_ID_PATTERN.flags, ID_PATTERN.flags);
});

test("isDeviceInfo: the device list keeps only entries a row can draw (a server of another version may send others)", () => {
  const good = { id: "cam", name: "Cam", online: true, kind: "camera", viewers: 1, tracks: [{ kind: "video", codec: "video/vp8" }] };
  assert.equal(isDeviceInfo(good), true);
  for (const bad of [null, 5, "cam", {}, { ...good, tracks: undefined }, { ...good, tracks: [null] }, { ...good, name: 7 }, { ...good, online: "yes" }]) {
    assert.equal(isDeviceInfo(bad), false, JSON.stringify(bad));
  }
});
