import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { DeviceInput } from "./device-input.js";

describe("DeviceInput: device messages", () => {
  test("a late viewer gets the latest state and resolution, and the cursor's shape and position merged", () => {
    const input = new DeviceInput(60_000);
    const forwarded: string[] = [];
    input.on("message", (text) => forwarded.push(text));
    assert.equal(input.fromDevice(JSON.stringify({ type: "cursor", png: "iVBORw0KGgo=", hotspotX: 1, hotspotY: 2 })), undefined);
    assert.equal(input.fromDevice(JSON.stringify({ type: "cursor", x: 10, y: 20 })), undefined);
    assert.equal(input.fromDevice(JSON.stringify({ type: "resolution", width: 640, height: 480 })), undefined);
    assert.equal(input.fromDevice(JSON.stringify({ type: "clipboard", text: "not replayed" })), undefined);
    assert.equal(forwarded.length, 4, "each message goes to the viewers as it came");
    assert.deepEqual(forwarded[1], JSON.stringify({ type: "cursor", x: 10, y: 20 }));
    const replay = input.replay().map((t) => JSON.parse(t) as Record<string, unknown>);
    assert.deepEqual(
      replay.find((m) => m.type === "cursor"),
      { type: "cursor", png: "iVBORw0KGgo=", hotspotX: 1, hotspotY: 2, x: 10, y: 20 },
    );
    assert.deepEqual(
      replay.find((m) => m.type === "resolution"),
      { type: "resolution", width: 640, height: 480 },
    );
    assert.equal(
      replay.some((m) => m.type === "clipboard"),
      false,
    );
    assert.deepEqual(input.streamSize, { width: 640, height: 480 });
    input.close();
  });
});
