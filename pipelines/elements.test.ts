import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { elementsOf } from "./elements.js";
import { jpegToRtpDescription, testSourceDescription } from "./descriptions.js";

describe("elementsOf", () => {
  const cases: [string, string, string[]][] = [
    ["a plain chain", "videotestsrc ! videoconvert ! fakesink", ["videotestsrc", "videoconvert", "fakesink"]],
    [
      "properties and caps are not elements",
      'appsrc name=src caps="video/x-raw,format=I420" ! video/x-raw,width=64 ! jpegenc quality=40 ! appsink name=out',
      ["appsrc", "jpegenc", "appsink"],
    ],
    ["a quoted value with spaces and a '!' inside", 'textoverlay text="hi ! there" font-desc="Sans 24" ! fakesink', ["textoverlay", "fakesink"]],
    ["caps without a property", "appsrc ! image/jpeg ! jpegdec ! fakesink", ["appsrc", "jpegdec", "fakesink"]],
    [
      "a second chain after a sink, and pad references",
      "audiotestsrc ! tee name=t t. ! queue ! fakesink t. ! queue ! fakesink",
      ["audiotestsrc", "tee", "queue", "fakesink"],
    ],
    ["links without spaces", "videotestsrc!fakesink", ["videotestsrc", "fakesink"]],
  ];
  for (const [what, description, want] of cases) {
    test(what, () => assert.deepEqual(elementsOf(description), want));
  }

  test("an unbalanced quote is an error, not a guess", () => {
    assert.throws(() => elementsOf('textoverlay text="open ! fakesink'), /unbalanced quote/);
  });

  test("reads Tessera's own descriptions: the test source names its overlays, encoder and both sinks", () => {
    const elements = elementsOf(testSourceDescription({ codec: "h264" }));
    for (const e of ["videotestsrc", "timeoverlay", "clockoverlay", "textoverlay", "x264enc", "rtph264pay", "audiotestsrc", "opusenc", "appsink"]) {
      assert.ok(elements.includes(e), `${e} in ${elements.join(" ")}`);
    }
    assert.deepEqual(elementsOf(jpegToRtpDescription({ bitrateKbps: 100 })), ["appsrc", "jpegdec", "videoconvert", "vp8enc", "rtpvp8pay", "appsink"]);
  });
});
