/**
 * Pure functions that build GStreamer pipeline descriptions. Every pipeline
 * Tessera runs is described here, so the strings can be read and tested in
 * one place.
 */

/** Video codecs a pipeline can produce as RTP. */
export type RtpVideoCodec = "vp8" | "h264";
/** The video codecs Tessera decodes from a device's RTP: what local pipelines make, and VP9 from browsers and WHIP clients. */
export type DecodableVideoCodec = RtpVideoCodec | "vp9";

/** Settings of the synthetic test device. */
export interface TestSourceOptions {
  width: number;
  height: number;
  fps: number;
  codec: RtpVideoCodec;
  bitrateKbps: number;
  /** Frames between keyframes when nobody asks for one. */
  keyframeInterval: number;
  /** RTP payload types for video and audio; the relay rewrites them per viewer. */
  videoPayloadType: number;
  audioPayloadType: number;
  /** Largest RTP packet, bytes. */
  mtu: number;
  /** Label drawn on the picture. */
  label: string;
  /**
   * videotestsrc's pattern and any properties that go with it, e.g.
   * "smpte horizontal-speed=10" for high motion (benches).
   */
  pattern: string;
  /** Draw the running time (changes every frame) top left; off for a still screen whose only motion is the clock. */
  runningTime: boolean;
  /**
   * Encoder threads. With two, libvpx's CBR swung between 0.4 and 8 Mb/s
   * per 2 s on a 2-core machine; benches that need a steady rate use one.
   */
  encoderThreads: number;
  /**
   * Lower simulcast layers to encode besides the full picture (VP8 only),
   * each behind a valve that stays shut until a viewer needs the layer.
   */
  lowerLayers: readonly ScaledLayer[];
  /**
   * The full picture's encoder behind a valve too (TEST_SOURCE_ELEMENTS.videoValve),
   * and the picture itself (pattern, overlays, conversion) behind another
   * (pictureValve), both shut until something takes the video: a source
   * nobody watches neither draws nor encodes.
   */
  videoOnDemand: boolean;
  /**
   * VP8 leaves as whole encoded frames (one appsink buffer each) for the
   * caller to packetize, rather than as RTP from rtpvp8pay: one pull per
   * frame instead of one per packet.
   */
  vp8Frames: boolean;
}

/** A simulcast layer below the full picture, as a pipeline needs it. */
export interface ScaledLayer {
  /** Names its elements (lowerLayerElements). */
  rid: string;
  /** The full picture's width and height divided by this. */
  scaleDownBy: number;
  /** Its target bitrate, bits/s. */
  maxBitrate: number;
}

/** Defaults: 1280×720 at 30 fps, VP8 at 2.5 Mb/s, a keyframe every second. */
export const TEST_SOURCE_DEFAULTS: TestSourceOptions = {
  width: 1280,
  height: 720,
  fps: 30,
  codec: "vp8",
  bitrateKbps: 2500,
  keyframeInterval: 30,
  videoPayloadType: 96,
  audioPayloadType: 111,
  mtu: 1200,
  label: "Tessera test device",
  pattern: "ball motion=sweep background-color=0xff203040",
  runningTime: true,
  encoderThreads: 2,
  lowerLayers: [],
  videoOnDemand: false,
  vp8Frames: false,
};

/** The nearest even number of pixels (I420 needs even sizes). */
function even(pixels: number): number {
  return Math.max(2, 2 * Math.round(pixels / 2));
}

/** Element names the test source exposes to code. */
export const TEST_SOURCE_ELEMENTS = { videoSink: "vsink", videoValve: "vvalve", pictureValve: "pvalve", audioSink: "asink" } as const;

function quote(text: string): string {
  return `"${text.replace(/["\\]/g, "")}"`;
}

/** Element names of one lower simulcast layer's branch: its valve and its RTP appsink. */
export function lowerLayerElements(rid: string): { valve: string; sink: string } {
  return { valve: `valve-${rid}`, sink: `vsink-${rid}` };
}

/** A lower layer's picture size for a full picture of `size` (even, as I420 needs). */
export function lowerLayerSize(size: { width: number; height: number }, layer: ScaledLayer): { width: number; height: number } {
  return { width: even(size.width / layer.scaleDownBy), height: even(size.height / layer.scaleDownBy) };
}

/**
 * One branch per layer of `layers` from the tee named `tee` (raw I420 of `size`):
 * a valve, shut until a viewer takes the layer (sticky events still pass, so
 * it starts at once), the picture scaled down, `encoder(kbps)` (encoder and
 * payloader) and an appsink. `async=false`: a sink that gets no buffer while
 * its valve is shut must not hold the pipeline out of PLAYING.
 */
export function lowerLayerBranches(
  tee: string,
  size: { width: number; height: number },
  layers: readonly ScaledLayer[],
  encoder: (bitrateKbps: number) => string,
): string {
  return layers
    .map((l) => {
      const e = lowerLayerElements(l.rid);
      const s = lowerLayerSize(size, l);
      return (
        `${tee}. ! queue max-size-buffers=2 leaky=downstream ! valve name=${e.valve} drop=true drop-mode=forward-sticky-events ! ` +
        `videoscale ! video/x-raw,width=${s.width},height=${s.height} ! ${encoder(Math.round(l.maxBitrate / 1000))} ! ` +
        `appsink name=${e.sink} sync=false async=false emit-signals=false max-buffers=200 drop=true `
      );
    })
    .join("");
}

function videoEncoder(o: TestSourceOptions, bitrateKbps = o.bitrateKbps, threads = o.encoderThreads): string {
  switch (o.codec) {
    case "vp8":
      return (
        `vp8enc deadline=1 cpu-used=8 end-usage=cbr target-bitrate=${bitrateKbps * 1000} ` +
        `keyframe-max-dist=${o.keyframeInterval} error-resilient=partitions lag-in-frames=0 threads=${threads}` +
        (o.vp8Frames ? "" : ` ! rtpvp8pay mtu=${o.mtu} pt=${o.videoPayloadType} picture-id-mode=15-bit`)
      );
    case "h264":
      return (
        `x264enc tune=zerolatency speed-preset=ultrafast bitrate=${o.bitrateKbps} ` +
        `key-int-max=${o.keyframeInterval} bframes=0 threads=${o.encoderThreads} ! ` +
        `video/x-h264,profile=constrained-baseline,stream-format=byte-stream ! ` +
        `rtph264pay mtu=${o.mtu} pt=${o.videoPayloadType} config-interval=-1 aggregate-mode=zero-latency`
      );
  }
}

/** The test device's raw picture: the pattern with a running time, a clock and the label, ending in `videoconvert ! `. */
export function testPictureDescription(options: Partial<TestSourceOptions> = {}): string {
  const o = { ...TEST_SOURCE_DEFAULTS, ...options };
  return [
    `videotestsrc is-live=true pattern=${o.pattern} ! `,
    `video/x-raw,width=${o.width},height=${o.height},framerate=${o.fps}/1 ! `,
    o.videoOnDemand ? `valve name=${TEST_SOURCE_ELEMENTS.pictureValve} drop=true drop-mode=forward-sticky-events ! ` : "",
    o.runningTime ? `timeoverlay halignment=left valignment=top font-desc="Sans 28" ! ` : "",
    `clockoverlay halignment=right valignment=top time-format="%H:%M:%S" font-desc="Sans 28" ! `,
    `textoverlay text=${quote(o.label)} valignment=bottom font-desc="Sans 24" ! `,
    `videoconvert ! `,
  ].join("");
}

/**
 * The built-in test device: a moving pattern with a clock and a frame counter,
 * encoded to RTP, and an Opus tone, each into its own appsink.
 */
export function testSourceDescription(options: Partial<TestSourceOptions> = {}): string {
  const o = { ...TEST_SOURCE_DEFAULTS, ...options };
  const sink = (name: string) => `appsink name=${name} sync=false emit-signals=false max-buffers=200 drop=true`;
  const layered = o.lowerLayers.length > 0 && o.codec === "vp8";
  return [
    testPictureDescription(o),
    layered ? `tee name=vt vt. ! ` : "",
    `queue max-size-buffers=2 leaky=downstream ! `,
    // As a lower layer's branch (lowerLayerBranches): sticky events pass the shut valve, and the sink does not wait for a buffer.
    o.videoOnDemand ? `valve name=${TEST_SOURCE_ELEMENTS.videoValve} drop=true drop-mode=forward-sticky-events ! ` : "",
    `${videoEncoder(o)} ! ${sink(TEST_SOURCE_ELEMENTS.videoSink)}${o.videoOnDemand ? " async=false" : ""} `,
    layered ? lowerLayerBranches("vt", o, o.lowerLayers, (kbps) => videoEncoder(o, kbps, 1)) : "",
    `audiotestsrc is-live=true wave=sine freq=440 volume=0.2 ! audio/x-raw,rate=48000,channels=2 ! `,
    `audioconvert ! audioresample ! opusenc bitrate=64000 frame-size=20 ! `,
    `rtpopuspay pt=${o.audioPayloadType} ! ${sink(TEST_SOURCE_ELEMENTS.audioSink)}`,
  ].join("");
}

/**
 * A decoder's appsink: up to 5 pictures wait for Node, then the decoder
 * waits too; none is dropped. The picture source pairs each picture with
 * its frame's arrival, in order (fallback latency), so a dropped picture
 * would shift every pairing after it for good: measured, a decoder that
 * started with a backlog of 13 frames dropped some of them as it caught
 * up, and the metric read about 370 ms for pictures 3 ms old from then on.
 * The consumers keep only the newest picture anyway.
 */
const decodedSink = (name: string) => `appsink name=${name} sync=false max-buffers=5 drop=false`;

/** Element names of the RTP decode pipeline. */
export const RTP_DECODE_ELEMENTS = { src: "rtpin", sink: "frames" } as const;

/**
 * RTP in (appsrc) → depayload → decode → raw I420 frames out (appsink).
 * The basis of every consumer that needs pictures from a device's RTP.
 */
export function rtpDecodeDescription(codec: DecodableVideoCodec, payloadType = 96): string {
  return `${rtpToI420(RTP_DECODE_ELEMENTS.src, codec, payloadType)} ! ${decodedSink(RTP_DECODE_ELEMENTS.sink)}`;
}

/** An appsrc taking the codec's RTP, depayloaded and decoded to I420. */
function rtpToI420(srcName: string, codec: DecodableVideoCodec, payloadType: number): string {
  const name = codec === "vp8" ? "VP8" : codec === "vp9" ? "VP9" : "H264";
  const depayDecode = codec === "vp8" ? "rtpvp8depay ! vp8dec" : codec === "vp9" ? "rtpvp9depay ! vp9dec" : "rtph264depay ! h264parse ! avdec_h264";
  return (
    `appsrc name=${srcName} is-live=true do-timestamp=true format=time ` +
    `caps="application/x-rtp,media=video,encoding-name=${name},clock-rate=90000,payload=${payloadType}" ! ` +
    `rtpjitterbuffer latency=0 ! ${depayDecode} ! videoconvert ! video/x-raw,format=I420`
  );
}

/** Element names of the transcoder. */
export const TRANSCODE_ELEMENTS = { src: "rtpin", pay: "pay", sink: "rtpout" } as const;

/**
 * A device's video RTP in (appsrc) → decoded → VP8 → RTP out (appsink), for
 * WebRTC viewers that cannot decode the device's codec (every browser
 * decodes VP8). One per device, shared by all such viewers.
 */
export function transcodeToVp8Description(o: { from: RtpVideoCodec; bitrateKbps: number; payloadType?: number; mtu?: number }): string {
  const E = TRANSCODE_ELEMENTS;
  return (
    `${rtpToI420(E.src, o.from, 96)} ! queue max-size-buffers=2 leaky=downstream ! ` +
    `vp8enc deadline=1 cpu-used=8 end-usage=cbr target-bitrate=${o.bitrateKbps * 1000} keyframe-max-dist=3000 ` +
    `lag-in-frames=0 error-resilient=partitions threads=2 ! ` +
    `rtpvp8pay name=${E.pay} pt=${o.payloadType ?? 96} mtu=${o.mtu ?? 1200} picture-id-mode=15-bit ! ` +
    `appsink name=${E.sink} sync=false emit-signals=false max-buffers=500 drop=true`
  );
}

/** Element names of the JPEG decoder pipeline. */
export const JPEG_DECODE_ELEMENTS = { src: "jpegin", sink: "frames" } as const;

/**
 * Whole JPEG frames in (appsrc, any size, any rate) → jpegdec → raw I420
 * frames out (appsink): the pictures of a device that pushes JPEGs, with no
 * video codec in between.
 */
export function jpegDecodeDescription(): string {
  return (
    `appsrc name=${JPEG_DECODE_ELEMENTS.src} is-live=true do-timestamp=true format=time caps="image/jpeg,framerate=0/1" ! ` +
    `jpegdec ! videoconvert ! video/x-raw,format=I420 ! ` +
    decodedSink(JPEG_DECODE_ELEMENTS.sink)
  );
}

/** Element names of the stripe encoder pipelines. */
export const STRIPE_ENCODER_ELEMENTS = { src: "raw", encoder: "enc", sink: "coded" } as const;

/**
 * The stripe encoders' appsrc. Its caps, which carry the size, are set
 * before start (i420Caps), and the JPEG quality likewise: one description
 * serves every size and quality, so a stopped pipeline is reused for any
 * (GstPipeline's pool is keyed by description, and gstreamer-superficial
 * never frees a pipeline: a description per size kept every size's
 * pipelines for good).
 */
const RAW_I420_SRC = `appsrc name=${STRIPE_ENCODER_ELEMENTS.src} format=time do-timestamp=true`;

/** The caps of I420 pictures of one size, for a stripe encoder's appsrc (set before start). */
export function i420Caps(width: number, height: number, fps: number): string {
  return `video/x-raw,format=I420,width=${width},height=${height},framerate=${fps}/1`;
}

/**
 * I420 pictures in (appsrc, caps set before start) → JPEG out (appsink), one
 * JPEG per picture. jpegenc reads its `quality` per picture, so one pipeline
 * serves normal and paint-over quality.
 */
export function jpegStripeDescription(): string {
  const e = STRIPE_ENCODER_ELEMENTS;
  return `${RAW_I420_SRC} ! jpegenc name=${e.encoder} ! appsink name=${e.sink} sync=false`;
}

/** Settings of one H.264 stripe encoder (its size is its appsrc's caps, set before start). */
export interface X264StripeOptions {
  /** Frame rate the rate control assumes. */
  fps: number;
  /** Constant quality 10..51 (x264's CRF); wins over bitrateKbps when both are given. */
  crf?: number;
  /** Average bitrate of this stripe when no crf is given. */
  bitrateKbps?: number;
  /** Frames between keyframes when nobody asks for one. */
  keyframeInterval: number;
}

/** The x264enc property and value of a stripe encoder's rate, set before start: CRF as `quantizer`, else `bitrate` (kbps). */
export function x264RateProperty(o: Pick<X264StripeOptions, "crf" | "bitrateKbps">): [property: string, value: number] {
  return o.crf !== undefined ? ["quantizer", o.crf] : ["bitrate", o.bitrateKbps ?? 500];
}

/**
 * I420 pictures in (appsrc, caps set before start) → x264, constrained baseline, Annex-B out
 * (appsink), one access unit per picture: zerolatency has no lookahead and
 * no B-frames, and one thread per encoder keeps it so (many run at once).
 */
export function x264StripeDescription(o: X264StripeOptions): string {
  const e = STRIPE_ENCODER_ELEMENTS;
  // The rate's number (quantizer or bitrate) is set before start (x264RateProperty), as the size is: only the mode is here.
  const rate = o.crf !== undefined ? "pass=qual" : "pass=cbr";
  return (
    `${RAW_I420_SRC} ! ` +
    `x264enc name=${e.encoder} tune=zerolatency speed-preset=ultrafast ${rate} ` +
    `key-int-max=${o.keyframeInterval} bframes=0 threads=1 ! ` +
    `video/x-h264,stream-format=byte-stream,alignment=au,profile=constrained-baseline ! ` +
    `appsink name=${e.sink} sync=false`
  );
}

/** Element names of the JPEG → RTP pipeline. */
export const JPEG_TO_RTP_ELEMENTS = { src: "jpegin", pay: "pay", sink: "rtpout" } as const;

/**
 * Pushed JPEG frames (any rate, 0.2-30 Hz) → decoded → VP8 → RTP, for WebRTC
 * viewers of a frame device. Frames are timestamped as they arrive; each
 * one is encoded at once (no frame-rate conversion, no lookahead).
 */
export function jpegToRtpDescription(o: { bitrateKbps: number; payloadType?: number; mtu?: number }): string {
  const E = JPEG_TO_RTP_ELEMENTS;
  return (
    `appsrc name=${E.src} is-live=true do-timestamp=true format=time caps="image/jpeg,framerate=0/1" ! ` +
    `jpegdec ! videoconvert ! video/x-raw,format=I420 ! ` +
    `vp8enc deadline=1 cpu-used=8 end-usage=cbr target-bitrate=${o.bitrateKbps * 1000} keyframe-max-dist=3000 ` +
    `lag-in-frames=0 error-resilient=partitions threads=1 ! ` +
    `rtpvp8pay name=${E.pay} pt=${o.payloadType ?? 96} mtu=${o.mtu ?? 1200} picture-id-mode=15-bit ! ` +
    `appsink name=${E.sink} sync=false emit-signals=false max-buffers=500 drop=true`
  );
}
