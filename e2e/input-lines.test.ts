/** Unit tests of web/src/input-lines.ts and web/src/sdp.ts (see e2e/coords.test.ts for why they live in e2e/). */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { checkInputLine } from "../server/input/lines.js";
import {
  buttonMask,
  clipboardLine,
  decodeClipboard,
  keyLine,
  parseDeviceMessage,
  parseInputLine,
  pointerLine,
  resizeLine,
  TouchIds,
  touchLine,
  WheelSteps,
} from "../web/src/input-lines.js";
import { mediaSections, offeredVideoCodecs, talkMid, videoRefused } from "../web/src/sdp.js";

describe("input lines", () => {
  test("every line the viewer builds passes the server's grammar and parses back", () => {
    const lines = [
      pointerLine(10, 20, 5, -3),
      pointerLine(0, 0, 0, 5000),
      keyLine(true, 0xff0d),
      keyLine(false, 0x010020ac),
      touchLine("start", 0, 1, 2),
      touchLine("cancel", 255, 3, 4),
      clipboardLine("héllo, wörld ✓ 😀"),
      clipboardLine(""),
      resizeLine(1280, 720),
      "kr",
    ];
    for (const line of lines) {
      assert.deepEqual(checkInputLine(line, { width: 1280, height: 720 }).ok, true, line);
      assert.ok(parseInputLine(line), line);
    }
    assert.equal(pointerLine(1, 2, 0, 5000), "m,1,2,0,1000", "scroll is clamped to the server's range");
    assert.deepEqual(parseInputLine("m,10,20,5,-3"), { kind: "pointer", x: 10, y: 20, buttons: 5, scroll: -3 });
    assert.deepEqual(parseInputLine("t,move,3,7,8"), { kind: "touch", phase: "move", id: 3, x: 7, y: 8 });
    assert.deepEqual(parseInputLine("kd,72"), { kind: "key", down: true, keysym: 72 });
    assert.deepEqual(parseInputLine("r,640x480"), { kind: "resize", width: 640, height: 480 });
    assert.equal(parseInputLine("x,1"), undefined);
    assert.equal(parseInputLine("t,hover,1,2,3"), undefined);
  });

  test("clipboard text round-trips through base64 of UTF-8", () => {
    for (const text of ["", "Hi", "héllo ✓ 😀", "a,b\nc", "x".repeat(70_000)]) {
      const line = clipboardLine(text);
      assert.match(line, /^cw,[A-Za-z0-9+/]*={0,2}$/);
      assert.equal(decodeClipboard(line.slice(3)), text);
    }
    assert.equal(clipboardLine("Hi"), "cw,SGk=");
    assert.equal(decodeClipboard("!!"), undefined);
    assert.equal(decodeClipboard("/w=="), undefined, "0xff is not UTF-8");
  });

  test("DOM buttons map to protocol bits: left 1, middle 2, right 4", () => {
    assert.equal(buttonMask(0), 0);
    assert.equal(buttonMask(1), 1);
    assert.equal(buttonMask(4), 2);
    assert.equal(buttonMask(2), 4);
    assert.equal(buttonMask(7), 7);
    assert.equal(buttonMask(1 | 8 | 16), 1 | 8 | 16);
  });
});

describe("WheelSteps", () => {
  test("one Chromium notch (100 px) is one step; down is positive", () => {
    const w = new WheelSteps();
    assert.equal(w.add(100, 0), 1);
    assert.equal(w.add(-200, 0), -2);
  });
  test("small touchpad deltas add up", () => {
    const w = new WheelSteps();
    assert.deepEqual(
      [30, 30, 30, 30].map((d) => w.add(d, 0)),
      [0, 0, 0, 1],
    );
    w.reset();
    assert.equal(w.add(30, 0), 0);
  });
  test("turning back drops the leftover, so the first notch back counts", () => {
    const w = new WheelSteps();
    assert.equal(w.add(250, 0), 2);
    assert.equal(w.add(-100, 0), -1);
  });
  test("lines and pages", () => {
    const w = new WheelSteps();
    assert.equal(w.add(3, 1), 1);
    assert.equal(w.add(-1, 2), -10);
  });
});

describe("TouchIds", () => {
  test("takes the smallest free id and frees it on end", () => {
    const ids = new TouchIds();
    assert.equal(ids.start(1001), 0);
    assert.equal(ids.start(1002), 1);
    assert.equal(ids.start(1001), 0, "a repeated start keeps its id");
    assert.equal(ids.end(1001), 0);
    assert.equal(ids.get(1001), undefined);
    assert.equal(ids.start(1003), 0);
    assert.deepEqual(ids.active(), [
      [1002, 1],
      [1003, 0],
    ]);
  });
  test("gives out at most 256 ids", () => {
    const ids = new TouchIds();
    for (let i = 0; i < 256; i++) assert.equal(ids.start(i * 7), i);
    assert.equal(ids.start(99_999), undefined);
  });
});

test("parseDeviceMessage accepts the four device types only", () => {
  assert.deepEqual(parseDeviceMessage('{"type":"state","leds":[true]}'), { type: "state", leds: [true] });
  assert.equal(parseDeviceMessage('{"type":"hello"}'), undefined);
  assert.equal(parseDeviceMessage("[1]"), undefined);
  assert.equal(parseDeviceMessage("nope"), undefined);
});

describe("talkMid", () => {
  const offer = [
    "v=0",
    "o=- 1 1 IN IP4 127.0.0.1",
    "s=-",
    "t=0 0",
    "m=video 9 UDP/TLS/RTP/SAVPF 96",
    "a=mid:0",
    "a=sendonly",
    "m=audio 9 UDP/TLS/RTP/SAVPF 111",
    "a=mid:1",
    "a=sendonly",
    "m=audio 9 UDP/TLS/RTP/SAVPF 111",
    "a=recvonly",
    "a=mid:2",
    "m=application 9 UDP/DTLS/SCTP webrtc-datachannel",
    "a=mid:3",
    "",
  ].join("\r\n");
  test("is the audio section the server receives on", () => {
    assert.equal(talkMid(offer), "2");
    assert.deepEqual(
      mediaSections(offer).map((s) => `${s.kind}:${s.mid}:${s.direction}`),
      ["video:0:sendonly", "audio:1:sendonly", "audio:2:recvonly", "application:3:sendrecv"],
    );
  });
  test("is undefined when the server offers no such section", () => {
    assert.equal(talkMid(offer.replace("a=recvonly", "a=sendonly")), undefined);
  });
});

describe("offered video codecs", () => {
  const offer = [
    "v=0",
    "m=video 9 UDP/TLS/RTP/SAVPF 102 103 108",
    "a=mid:0",
    "a=sendonly",
    "a=rtpmap:102 H264/90000",
    "a=rtpmap:103 rtx/90000",
    "a=rtpmap:108 red/90000",
    "m=audio 9 UDP/TLS/RTP/SAVPF 111",
    "a=mid:1",
    "a=sendonly",
    "a=rtpmap:111 opus/48000/2",
    "m=video 9 UDP/TLS/RTP/SAVPF 96",
    "a=mid:2",
    "a=recvonly",
    "a=rtpmap:96 VP8/90000",
  ].join("\r\n");

  test("the codecs of the video sections the server sends, without carriers or what it only receives", () => {
    assert.deepEqual(offeredVideoCodecs(offer), ["h264"]);
    assert.deepEqual(offeredVideoCodecs(offer.replace("a=sendonly", "a=sendrecv").replace("H264", "VP8")), ["vp8"]);
    assert.deepEqual(offeredVideoCodecs("v=0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=rtpmap:111 opus/48000/2"), []);
  });

  test("an answer that refuses a video section (port 0) is told apart", () => {
    assert.equal(videoRefused("v=0\r\nm=video 0 UDP/TLS/RTP/SAVPF 0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111"), true);
    assert.equal(videoRefused("v=0\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\nm=audio 0 UDP/TLS/RTP/SAVPF 0"), false);
  });
});
