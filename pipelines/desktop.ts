/**
 * Desktop capture: an X display (ximagesrc) encoded for WebRTC, with the raw
 * pictures beside it for the WebSocket fallback, and the rule that picks
 * the encoder. Pure functions, like descriptions.ts.
 */
import { lowerLayerBranches, type RtpVideoCodec, type ScaledLayer } from "./descriptions.js";

/** Encoders a desktop can be captured with: hardware ones first in preference, the software ones always. */
export const DESKTOP_ENCODERS = ["nvh264enc", "vah264enc", "x264enc", "vp8enc"] as const;
export type DesktopEncoder = (typeof DESKTOP_ENCODERS)[number];

/** What the server may use: any encoder GStreamer has, or software only. */
export type EncoderPolicy = "auto" | "software";

/**
 * The encoder rule: VP8 is always libvpx (`vp8enc`). H.264 uses NVENC
 * (`nvh264enc`) when GStreamer has it, else VA-API (`vah264enc`), else
 * `x264enc`; `software` skips the hardware ones. `available` is the set of
 * element names gst-inspect lists (a hardware element is only registered
 * when its driver and device work).
 */
export function chooseDesktopEncoder(codec: RtpVideoCodec, policy: EncoderPolicy, available: ReadonlySet<string>): DesktopEncoder {
  if (codec === "vp8") return "vp8enc";
  if (policy === "auto") {
    if (available.has("nvh264enc")) return "nvh264enc";
    if (available.has("vah264enc")) return "vah264enc";
  }
  return "x264enc";
}

/** Settings of one desktop capture. */
export interface DesktopCaptureOptions {
  /** The X display, e.g. ":0". */
  display: string;
  /** A V4L2 camera (e.g. "/dev/video0") to capture instead of the display. */
  camera?: string;
  encoder: DesktopEncoder;
  /** Highest frame rate sent; lower when the screen does not change (damage). */
  fps: number;
  bitrateKbps: number;
  /** Frames between keyframes when nobody asks for one (viewers that join ask). */
  keyframeInterval: number;
  /** RTP payload type; the relay rewrites it per viewer. */
  payloadType: number;
  /** Largest RTP packet, bytes. */
  mtu: number;
  /** Encoder threads (software encoders). */
  threads: number;
  /**
   * Lower simulcast layers to offer (VP8 only), at the display's size: each
   * encoded on demand (lowerLayerBranches).
   */
  layers?: { size: { width: number; height: number }; lower: readonly ScaledLayer[] };
  /** First RTP sequence number and timestamp, to continue an earlier capture's stream (a restart after a resize); random when absent. */
  seqnumOffset?: number;
  timestampOffset?: number;
}

export const DESKTOP_CAPTURE_DEFAULTS: Omit<DesktopCaptureOptions, "display" | "encoder"> = {
  fps: 30,
  bitrateKbps: 4000,
  keyframeInterval: 300,
  payloadType: 96,
  mtu: 1200,
  threads: 2,
};

/** Element names desktop code reaches into. */
export const DESKTOP_ELEMENTS = {
  /** The encoder, for bitrate changes and keyframe requests. */
  encoder: "venc",
  /** videorate, whose max-rate caps the frame rate. */
  rate: "rate",
  /** RTP out. */
  rtpSink: "vsink",
  /** Closed (drop=true) while no fallback viewer takes raw pictures. */
  rawValve: "rawvalve",
  /** Raw I420 pictures out. */
  rawSink: "raw",
} as const;

/** The bitrate property of each encoder and its unit. */
export const ENCODER_BITRATE: Readonly<Record<DesktopEncoder, { property: string; perKbps: number }>> = {
  nvh264enc: { property: "bitrate", perKbps: 1 },
  vah264enc: { property: "bitrate", perKbps: 1 },
  x264enc: { property: "bitrate", perKbps: 1 },
  vp8enc: { property: "target-bitrate", perKbps: 1000 },
};

/** VP8 at `bitrateKbps` (CBR, low delay, a small buffer so a still screen's next change goes out at once) and its payloader. */
function vp8Chain(o: DesktopCaptureOptions, bitrateKbps: number, threads: number, name?: string): string {
  return (
    `vp8enc${name ? ` name=${name}` : ""} deadline=1 cpu-used=8 end-usage=cbr target-bitrate=${bitrateKbps * 1000} keyframe-max-dist=${o.keyframeInterval} ` +
    `buffer-size=1000 buffer-initial-size=500 buffer-optimal-size=600 ` +
    `error-resilient=partitions lag-in-frames=0 threads=${threads} ! rtpvp8pay mtu=${o.mtu} pt=${o.payloadType} picture-id-mode=15-bit`
  );
}

/** The encoder and payloader: low delay, no B-frames, constrained baseline for H.264. */
function encoderChain(o: DesktopCaptureOptions): string {
  const e = DESKTOP_ELEMENTS.encoder;
  const offsets =
    (o.seqnumOffset !== undefined ? ` seqnum-offset=${o.seqnumOffset & 0xffff}` : "") +
    (o.timestampOffset !== undefined ? ` timestamp-offset=${o.timestampOffset >>> 0}` : "");
  const h264Pay = `video/x-h264,profile=constrained-baseline,stream-format=byte-stream ! rtph264pay mtu=${o.mtu} pt=${o.payloadType} config-interval=-1 aggregate-mode=zero-latency${offsets}`;
  switch (o.encoder) {
    case "vp8enc":
      return `${vp8Chain(o, o.bitrateKbps, o.threads, e)}${offsets}`;
    case "x264enc":
      return (
        `x264enc name=${e} tune=zerolatency speed-preset=ultrafast bitrate=${o.bitrateKbps} key-int-max=${o.keyframeInterval} ` +
        `bframes=0 threads=${o.threads} ! ${h264Pay}`
      );
    case "nvh264enc":
      return `nvh264enc name=${e} preset=low-latency-hq zerolatency=true rc-mode=cbr bitrate=${o.bitrateKbps} gop-size=${o.keyframeInterval} bframes=0 ! ${h264Pay}`;
    case "vah264enc":
      return `vah264enc name=${e} rate-control=cbr bitrate=${o.bitrateKbps} key-int-max=${o.keyframeInterval} b-frames=0 target-usage=7 ! ${h264Pay}`;
  }
}

/**
 * Where the pictures come from: the X display (XDamage on, the pointer left
 * out: viewers draw it), or a V4L2 camera, whatever it sends (raw or MJPEG:
 * decodebin picks the decoder).
 */
function sourceChain(o: DesktopCaptureOptions, display: string): string {
  if (o.camera !== undefined) return `v4l2src device=${o.camera.replace(/[^A-Za-z0-9/._-]/g, "")} do-timestamp=true ! decodebin ! `;
  return `ximagesrc display-name=${display} use-damage=true show-pointer=false ! video/x-raw,framerate=${o.fps}/1 ! `;
}

/**
 * The display (or a camera) → I420 →
 * tee: one branch encoded to RTP, the other raw pictures behind a valve,
 * for the fallback, so its stripes need no decode of our own encoding.
 * Leaky one-buffer queues keep a slow branch from holding back the other.
 */
export function desktopCaptureDescription(options: Pick<DesktopCaptureOptions, "display" | "encoder"> & Partial<DesktopCaptureOptions>): string {
  const o = { ...DESKTOP_CAPTURE_DEFAULTS, ...options };
  const E = DESKTOP_ELEMENTS;
  const display = o.display.replace(/[^A-Za-z0-9:._-]/g, "");
  const leaky = "queue max-size-buffers=1 max-size-bytes=0 max-size-time=0 leaky=downstream";
  return (
    sourceChain(o, display) +
    `videorate name=${E.rate} max-rate=${o.fps} drop-only=true ! videoconvert ! video/x-raw,format=I420 ! tee name=t ` +
    `t. ! ${leaky} ! ${encoderChain(o)} ! appsink name=${E.rtpSink} sync=false emit-signals=false max-buffers=500 drop=true ` +
    `t. ! ${leaky} ! valve name=${E.rawValve} drop=true ! appsink name=${E.rawSink} sync=false async=false emit-signals=false max-buffers=1 drop=true` +
    (o.layers && o.encoder === "vp8enc" ? ` ${lowerLayerBranches("t", o.layers.size, o.layers.lower, (kbps) => vp8Chain(o, kbps, 1))}` : "")
  );
}

/** Element names of the desktop audio pipelines. */
export const DESKTOP_AUDIO_ELEMENTS = { rtpSink: "asink", rtpSrc: "talkin" } as const;

/**
 * The desktop's sound (the default PulseAudio or PipeWire sink's monitor:
 * what the desktop plays) as Opus RTP: stereo, 20 ms frames, in-band FEC.
 * `provide-clock=false`: the pipeline runs on the system clock like the video.
 */
export function desktopAudioDescription(o: { payloadType?: number; bitrate?: number } = {}): string {
  return (
    `pulsesrc device=@DEFAULT_MONITOR@ provide-clock=false do-timestamp=true ! ` +
    `audioconvert ! audioresample ! audio/x-raw,rate=48000,channels=2 ! ` +
    `opusenc bitrate=${o.bitrate ?? 64000} frame-size=20 inband-fec=true ! rtpopuspay pt=${o.payloadType ?? 111} ! ` +
    `appsink name=${DESKTOP_AUDIO_ELEMENTS.rtpSink} sync=false emit-signals=false max-buffers=200 drop=true`
  );
}

/** The controller's talk-back (Opus RTP in) played on the desktop's default PulseAudio sink. */
export function desktopTalkbackDescription(o: { payloadType?: number } = {}): string {
  return (
    `appsrc name=${DESKTOP_AUDIO_ELEMENTS.rtpSrc} is-live=true do-timestamp=true format=time ` +
    `caps="application/x-rtp,media=audio,encoding-name=OPUS,clock-rate=48000,payload=${o.payloadType ?? 111}" ! ` +
    `rtpjitterbuffer latency=60 ! rtpopusdepay ! opusdec plc=true ! audioconvert ! audioresample ! ` +
    `pulsesink sync=false`
  );
}
