import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { chooseDesktopEncoder, desktopCaptureDescription, DESKTOP_ENCODERS } from "./desktop.js";
import { elementsOf } from "./elements.js";

describe("desktop capture", () => {
  test("the encoder rule: VP8 is libvpx; H.264 prefers NVENC, then VA-API, then x264; software skips the hardware", () => {
    const all = new Set(["nvh264enc", "vah264enc", "x264enc", "vp8enc"]);
    assert.equal(chooseDesktopEncoder("vp8", "auto", all), "vp8enc");
    assert.equal(chooseDesktopEncoder("h264", "auto", all), "nvh264enc");
    assert.equal(chooseDesktopEncoder("h264", "auto", new Set(["vah264enc", "x264enc"])), "vah264enc");
    assert.equal(chooseDesktopEncoder("h264", "auto", new Set(["x264enc"])), "x264enc");
    assert.equal(chooseDesktopEncoder("h264", "software", all), "x264enc");
  });

  test("every encoder's pipeline: ximagesrc without the pointer, with damage, a low-delay encoder, RTP and raw branches", () => {
    for (const encoder of DESKTOP_ENCODERS) {
      const d = desktopCaptureDescription({ display: ":3", encoder, fps: 24, bitrateKbps: 3000 });
      const elements = elementsOf(d);
      assert.equal(elements[0], "ximagesrc", d);
      assert.ok(elements.includes(encoder) && elements.includes("valve") && elements.includes("tee"), d);
      assert.match(d, /display-name=:3 use-damage=true show-pointer=false/);
      assert.match(d, /max-rate=24/);
      assert.ok(elements.includes(encoder === "vp8enc" ? "rtpvp8pay" : "rtph264pay"), d);
      if (encoder !== "vp8enc") {
        assert.match(d, /profile=constrained-baseline/);
        assert.match(d, /b-?frames=0/, "no B-frames");
      }
      assert.match(d, encoder === "vp8enc" ? /target-bitrate=3000000/ : /bitrate=3000/);
    }
  });

  test("a display name cannot smuggle pipeline syntax in", () => {
    const d = desktopCaptureDescription({ display: ":0 ! filesink location=/tmp/x", encoder: "vp8enc" });
    assert.ok(!elementsOf(d).includes("filesink"), d);
  });

  test("a V4L2 camera instead of the display: v4l2src, any format it sends decoded, the same encoder and branches", () => {
    const d = desktopCaptureDescription({ display: ":0", camera: "/dev/video2", encoder: "x264enc", fps: 15 });
    const elements = elementsOf(d);
    assert.deepEqual(elements.slice(0, 3), ["v4l2src", "decodebin", "videorate"], d);
    assert.match(d, /device=\/dev\/video2 /);
    assert.ok(!elements.includes("ximagesrc") && elements.includes("x264enc") && elements.includes("valve"), d);
    assert.ok(!elementsOf(desktopCaptureDescription({ display: ":0", camera: "/dev/video0 ! filesink", encoder: "vp8enc" })).includes("filesink"));
  });
});
