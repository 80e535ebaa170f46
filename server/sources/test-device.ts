import { GstPipeline } from "../../pipelines/pipeline.js";
import { TEST_SOURCE_DEFAULTS, TEST_SOURCE_ELEMENTS, testSourceDescription, type TestSourceOptions } from "../../pipelines/descriptions.js";
import type { Device, DevicePublisher } from "../devices/device.js";
import type { Logger } from "../log.js";
import type { RelayObserver } from "../relay/observer.js";
import { parseRtp } from "../relay/rtp.js";
import { LOWER_LAYERS } from "../protocol/simulcast.js";
import { UpTrack } from "../relay/up-track.js";
import { OnDemandLayers } from "./on-demand-layers.js";
import { Vp8Packetizer } from "./vp8-packetizer.js";
import { LOCAL_OPUS, localVideoCodec } from "./rtp-codecs.js";

/**
 * The built-in test device: a GStreamer pipeline whose RTP goes straight into
 * the relay, no WebRTC hop. Keyframe requests become force-key-unit events
 * on the encoder. One pipeline for the life of the server, whose video is
 * encoded only while something takes it (a viewer, the fallback's decoder
 * for frame.jpg and the WebSocket stream, a WHEP client): its valve opens at
 * the first DownTrack, with a keyframe, and shuts after the last; the
 * picture itself is drawn only while some layer is encoded. An idle server
 * spends no core on a 720p picture.
 *
 * With `simulcast` (VP8), it also offers the lower layers of
 * SIMULCAST_LAYERS, encoded only while some viewer takes them: a layer's
 * valve opens at its first DownTrack and shuts after its last, so a server
 * whose viewers all want the full picture runs one encoder.
 */
export class TestDevice implements DevicePublisher {
  private readonly pipeline: GstPipeline;
  private readonly video: UpTrack;
  /** The lower simulcast layers, encoded on demand (with `simulcast`). */
  private readonly lower: OnDemandLayers | undefined;
  private readonly audio: UpTrack;
  private videoRunning = false;
  /** Packetizes the full picture's VP8 frames (undefined for H.264, which comes as RTP). */
  private readonly vp8: Vp8Packetizer | undefined;
  private _closed = false;

  constructor(
    private readonly device: Device,
    observer: RelayObserver,
    private readonly log: Logger,
    options: Partial<TestSourceOptions> & { simulcast?: boolean } = {},
  ) {
    const layered = options.simulcast === true && (options.codec ?? TEST_SOURCE_DEFAULTS.codec) === "vp8";
    const o = { ...TEST_SOURCE_DEFAULTS, ...options, lowerLayers: layered ? LOWER_LAYERS : [], videoOnDemand: true };
    // VP8 is packetized here, a frame per pull (Vp8Packetizer); H.264 comes as RTP from rtph264pay.
    o.vp8Frames = o.codec === "vp8";
    this.vp8 = o.vp8Frames ? new Vp8Packetizer(o.mtu) : undefined;
    this.pipeline = new GstPipeline(testSourceDescription(o), {
      kind: "test_source",
      onError: (message) => {
        this.log.error("test device pipeline stopped", { message });
        this.close("pipeline error");
      },
    });
    this.video = new UpTrack({
      id: "test-video",
      codec: localVideoCodec(o.codec),
      requestKeyframe: () => this.pipeline.forceKeyUnit(TEST_SOURCE_ELEMENTS.videoSink),
      keyframeBy: "encoder",
      observer,
      onDemand: { width: o.width, height: o.height, bitrate: o.bitrateKbps * 1000 },
      onConsumers: (count) => this.runVideo(count > 0),
    });
    if (layered) {
      this.lower = new OnDemandLayers(this.pipeline, {
        idPrefix: "test-video",
        codec: this.video.codec,
        size: o,
        observer,
        log,
        onChange: () => this.drawPicture(),
        vp8FramesMtu: o.vp8Frames ? o.mtu : undefined,
      });
      this.lower.join(this.video);
    }
    this.audio = new UpTrack({
      id: "test-audio",
      codec: LOCAL_OPUS,
      requestKeyframe: () => {},
      observer,
    });
  }

  /** Starts the pipeline and puts the device online. */
  start(): void {
    this.device.attach(this);
    this.pipeline.start();
    const vp8 = this.vp8;
    this.pipeline.pullFrom(TEST_SOURCE_ELEMENTS.videoSink, vp8 ? (frame) => vp8.push(this.video, frame) : (buf) => this.feed(this.video, buf));
    this.pipeline.pullFrom(TEST_SOURCE_ELEMENTS.audioSink, (buf) => this.feed(this.audio, buf));
    this.lower?.start();
    this.device.publish(this, [this.video, this.audio]);
  }

  /** Stops the pipeline and takes the device offline; idempotent. */
  close(reason = "closed"): void {
    if (this._closed) return;
    this._closed = true;
    this.log.info("test device stopped", { reason });
    this.pipeline.close();
    this.device.detach(this);
    this.video.close();
    this.lower?.close();
    this.audio.close();
  }

  /** Which layers are being encoded now (their rids; the full picture's is "f"). */
  get runningLayers(): string[] {
    return [...(this.lower?.runningLayers ?? []), ...(this.videoRunning ? ["f"] : [])];
  }

  /** The picture is drawn while any layer is encoded. */
  private drawPicture(): void {
    if (this._closed || this.pipeline.closed) return;
    this.pipeline.setProperty(TEST_SOURCE_ELEMENTS.pictureValve, "drop", this.runningLayers.length === 0);
  }

  private runVideo(on: boolean): void {
    if (this._closed || this.pipeline.closed || this.videoRunning === on) return;
    this.videoRunning = on;
    this.drawPicture();
    this.pipeline.setProperty(TEST_SOURCE_ELEMENTS.videoValve, "drop", !on);
    if (on) this.pipeline.forceKeyUnit(TEST_SOURCE_ELEMENTS.videoSink);
    this.log.debug(on ? "video started" : "video stopped");
  }

  private feed(track: UpTrack, buf: Buffer): void {
    const rtp = parseRtp(buf);
    if (rtp) track.push(rtp.sequenceNumber, rtp.timestamp, rtp.marker, rtp.payload);
  }
}
