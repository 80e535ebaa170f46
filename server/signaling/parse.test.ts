import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { TesseraError } from "../errors.js";
import { MAX_MESSAGE_BYTES } from "../protocol/messages.js";
import { parseClientMessage } from "./parse.js";

function refusal(text: string): string {
  try {
    parseClientMessage(text);
  } catch (err) {
    assert.ok(err instanceof TesseraError);
    assert.equal(err.code, "bad_request");
    return err.message;
  }
  assert.fail(`accepted ${text.slice(0, 80)}`);
}

describe("parseClientMessage", () => {
  test("accepts every well-formed message type", () => {
    const ok = [
      { type: "hello", role: "viewer", protocol: 1 },
      { type: "hello", role: "device", protocol: 1, device: { id: "cam-1", name: "Cam", kind: "camera" } },
      { type: "offer", sdp: "v=0\r\n" },
      { type: "answer", deviceId: "cam-1", sdp: "v=0\r\n" },
      { type: "candidate", deviceId: "cam-1", candidate: { candidate: "candidate:1 1 udp 1 127.0.0.1 9 typ host", sdpMid: "0", sdpMLineIndex: 0 } },
      { type: "candidate", candidate: null },
      { type: "watch", deviceId: "test" },
      { type: "watch", deviceId: "test", codecs: ["vp8", "vp9", "h264", "av1"] },
      { type: "unwatch", deviceId: "test" },
      { type: "keyframe", deviceId: "test" },
      { type: "bye" },
      { type: "control", action: "hand_over", deviceId: "cam-1", to: "2f0c-peer" },
      { type: "name", name: "Ada" },
      { type: "hello", role: "viewer", protocol: 1, name: "Ada L." },
    ];
    for (const m of ok) assert.equal(parseClientMessage(JSON.stringify(m)).type, m.type);
  });

  test("a name is trimmed", () => {
    assert.deepEqual(parseClientMessage('{"type":"name","name":"  Ada  "}'), { type: "name", name: "Ada" });
  });

  const bad: Array<[string, string, RegExp]> = [
    ["not JSON", "{nope", /not valid JSON/],
    ["an array", "[1,2]", /JSON object/],
    ["no type", '{"role":"viewer"}', /no string 'type'/],
    ["unknown type", '{"type":"launch"}', /unknown message type 'launch'/],
    ["wrong protocol", '{"type":"hello","role":"viewer","protocol":2}', /hello: protocol/],
    ["bad role", '{"type":"hello","role":"admin","protocol":1}', /hello: role/],
    ["watch without id", '{"type":"watch"}', /watch: deviceId/],
    ["watch with a codec that is no name", '{"type":"watch","deviceId":"test","codecs":["VP8 "]}', /codecs/],
    ["watch with too many codecs", `{"type":"watch","deviceId":"test","codecs":${JSON.stringify(Array(17).fill("vp8"))}}`, /codecs/],
    ["device id with a slash", '{"type":"watch","deviceId":"../etc"}', /watch: deviceId/],
    ["offer without sdp", '{"type":"offer"}', /offer: sdp/],
    ["candidate of the wrong shape", '{"type":"candidate","candidate":42}', /candidate: candidate/],
    ["a blank name", '{"type":"name","name":"   "}', /name: name/],
    ["a name over 40 characters", JSON.stringify({ type: "name", name: "x".repeat(41) }), /name: name/],
    ["a name with a control character", JSON.stringify({ type: "name", name: "Ada\u0007" }), /name: name/],
    ["a name with a right-to-left override", JSON.stringify({ type: "name", name: "Ada\u202Eecived" }), /name: name/],
    [
      "a device name with a direction isolate",
      JSON.stringify({ type: "hello", role: "device", protocol: 1, device: { id: "cam", name: "Porch\u2067cam" } }),
      /hello: device\.name/,
    ],
    ["an unknown control action", '{"type":"control","action":"steal","deviceId":"cam-1"}', /control: action/],
  ];
  for (const [name, text, why] of bad) {
    test(`refuses ${name}`, () => assert.match(refusal(text), why));
  }

  test("refuses a message over the size cap", () => {
    const big = JSON.stringify({ type: "offer", sdp: "x".repeat(MAX_MESSAGE_BYTES) });
    assert.match(refusal(big), /exceeds/);
  });
});
