/**
 * What each media feature needs from GStreamer: the pipelines it runs (from
 * descriptions.ts, so the element list follows the code), and the Debian
 * package that ships each element, for the start-up preflight and
 * `tessera doctor` to name. The set-up test checks this table against the
 * machine (gst-inspect-1.0 and dpkg) and against the bootstrap's list.
 */
import {
  jpegDecodeDescription,
  jpegStripeDescription,
  jpegToRtpDescription,
  rtpDecodeDescription,
  testSourceDescription,
  transcodeToVp8Description,
  x264StripeDescription,
  type RtpVideoCodec,
} from "./descriptions.js";
import { desktopAudioDescription, desktopCaptureDescription, desktopTalkbackDescription } from "./desktop.js";
import { elementsOf } from "./elements.js";

/** A media feature that runs GStreamer pipelines. */
export type MediaFeature =
  "test-device" | "host-capture" | "camera-capture" | "host-audio" | "fallback-jpeg" | "fallback-h264" | "frame-devices" | "snapshots" | "transcode";

/** Each feature and what it is for people, in doctor's words. */
export const MEDIA_FEATURES: Readonly<Record<MediaFeature, string>> = {
  "test-device": "test device (--source test)",
  "host-capture": "desktop capture (--source x11)",
  "camera-capture": "V4L2 cameras (--source v4l2)",
  "host-audio": "desktop sound and talk-back (--audio pulse)",
  "fallback-jpeg": "WebSocket fallback, JPEG stripes",
  "fallback-h264": "WebSocket fallback, H.264 stripes",
  "frame-devices": "JPEG frame devices",
  snapshots: "snapshots and frame.jpg",
  transcode: "transcoding for WebRTC viewers that cannot decode a device's codec (--transcode on)",
};

/** Pictures from any device: RTP in either codec, or pushed JPEGs. */
const deviceDecoders = (): string[] => [rtpDecodeDescription("vp8"), rtpDecodeDescription("vp9"), rtpDecodeDescription("h264"), jpegDecodeDescription()];

/** Every pipeline a feature may run; the test device only in the codec it is told. */
function featurePipelines(feature: MediaFeature, sourceCodec?: RtpVideoCodec): string[] {
  switch (feature) {
    case "test-device":
      return (sourceCodec ? [sourceCodec] : (["vp8", "h264"] as const)).map((codec) => testSourceDescription({ codec }));
    case "host-capture":
      return (sourceCodec ? [sourceCodec] : (["vp8", "h264"] as const)).map((codec) =>
        desktopCaptureDescription({ display: ":0", encoder: codec === "vp8" ? "vp8enc" : "x264enc" }),
      );
    case "camera-capture":
      return (sourceCodec ? [sourceCodec] : (["vp8", "h264"] as const)).map((codec) =>
        desktopCaptureDescription({ display: ":0", camera: "/dev/video0", encoder: codec === "vp8" ? "vp8enc" : "x264enc" }),
      );
    case "host-audio":
      return [desktopAudioDescription(), desktopTalkbackDescription()];
    case "fallback-jpeg":
      return [...deviceDecoders(), jpegStripeDescription()];
    case "fallback-h264":
      return [...deviceDecoders(), x264StripeDescription({ fps: 30, keyframeInterval: 60 })];
    case "frame-devices":
      return [jpegDecodeDescription(), jpegToRtpDescription({ bitrateKbps: 500 })];
    case "snapshots":
      return [...deviceDecoders(), jpegStripeDescription()];
    case "transcode":
      return [transcodeToVp8Description({ from: "h264", bitrateKbps: 1500 })];
  }
}

/** The elements a feature's pipelines name, each once. */
export function featureElements(feature: MediaFeature, sourceCodec?: RtpVideoCodec): string[] {
  return [...new Set(featurePipelines(feature, sourceCodec).flatMap(elementsOf))];
}

/** The GStreamer core library: its elements (queue, filesink…) come with GStreamer itself. */
export const GSTREAMER_CORE_PACKAGE = "libgstreamer1.0-0";

/**
 * The Debian package of every element Tessera's pipelines and tests name.
 * Kept by hand because a missing element cannot tell where it comes from;
 * the set-up test fails when an element is missing here or the package is
 * wrong.
 */
export const ELEMENT_PACKAGES: Readonly<Record<string, string>> = {
  appsink: "gstreamer1.0-plugins-base",
  appsrc: "gstreamer1.0-plugins-base",
  audioconvert: "gstreamer1.0-plugins-base",
  audioresample: "gstreamer1.0-plugins-base",
  audiotestsrc: "gstreamer1.0-plugins-base",
  opusenc: "gstreamer1.0-plugins-base",
  opusdec: "gstreamer1.0-plugins-base",
  videoconvert: "gstreamer1.0-plugins-base",
  videotestsrc: "gstreamer1.0-plugins-base",
  videorate: "gstreamer1.0-plugins-base",
  decodebin: "gstreamer1.0-plugins-base",
  clockoverlay: "gstreamer1.0-x",
  textoverlay: "gstreamer1.0-x",
  timeoverlay: "gstreamer1.0-x",
  ximagesink: "gstreamer1.0-x",
  jpegdec: "gstreamer1.0-plugins-good",
  pulsesrc: "gstreamer1.0-plugins-good",
  pulsesink: "gstreamer1.0-plugins-good",
  rtpopusdepay: "gstreamer1.0-plugins-good",
  ximagesrc: "gstreamer1.0-plugins-good",
  v4l2src: "gstreamer1.0-plugins-good",
  jpegenc: "gstreamer1.0-plugins-good",
  rtph264depay: "gstreamer1.0-plugins-good",
  rtph264pay: "gstreamer1.0-plugins-good",
  rtpjitterbuffer: "gstreamer1.0-plugins-good",
  rtpopuspay: "gstreamer1.0-plugins-good",
  rtpvp8depay: "gstreamer1.0-plugins-good",
  rtpvp8pay: "gstreamer1.0-plugins-good",
  rtpvp9depay: "gstreamer1.0-plugins-good",
  vp8dec: "gstreamer1.0-plugins-good",
  vp9dec: "gstreamer1.0-plugins-good",
  vp8enc: "gstreamer1.0-plugins-good",
  h264parse: "gstreamer1.0-plugins-bad",
  x264enc: "gstreamer1.0-plugins-ugly",
  // Hardware H.264, used when registered (--source-encoder auto); never required.
  nvh264enc: "gstreamer1.0-plugins-bad",
  vah264enc: "gstreamer1.0-plugins-bad",
  avdec_h264: "gstreamer1.0-libav",
  // Only tests' fixtures use these.
  multifilesink: "gstreamer1.0-plugins-good",
  level: "gstreamer1.0-plugins-good",
  fakesink: GSTREAMER_CORE_PACKAGE,
  filesink: GSTREAMER_CORE_PACKAGE,
  queue: GSTREAMER_CORE_PACKAGE,
  tee: GSTREAMER_CORE_PACKAGE,
  valve: GSTREAMER_CORE_PACKAGE,
};

/** The package to install for an element, or undefined when Tessera does not know it. */
export function packageOfElement(element: string): string | undefined {
  return ELEMENT_PACKAGES[element];
}
