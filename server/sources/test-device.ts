import { GstPipeline } from "../../pipelines/pipeline.js";
import { TEST_SOURCE_DEFAULTS, TEST_SOURCE_ELEMENTS, testSourceDescription, type TestSourceOptions } from "../../pipelines/descriptions.js";
import type { Device, DevicePublisher } from "../devices/device.js";
import type { Logger } from "../log.js";
import type { RelayObserver } from "../relay/observer.js";
import { parseRtp } from "../relay/rtp.js";
import { UpTrack } from "../relay/up-track.js";

/**
 * The built-in test device: a GStreamer pipeline whose RTP goes straight into
 * the relay, no WebRTC hop. Keyframe requests become force-key-unit events
 * on the encoder. One pipeline for the life of the server.
 */
export class TestDevice implements DevicePublisher {
  private readonly pipeline: GstPipeline;
  private readonly video: UpTrack;
  private readonly audio: UpTrack;
  private _closed = false;

  constructor(
    private readonly device: Device,
    observer: RelayObserver,
    private readonly log: Logger,
    options: Partial<TestSourceOptions> = {},
  ) {
    const o = { ...TEST_SOURCE_DEFAULTS, ...options };
    this.pipeline = new GstPipeline(testSourceDescription(o), {
      kind: "test_source",
      onError: (message) => {
        this.log.error("test device pipeline stopped", { message });
        this.close("pipeline error");
      },
    });
    const videoCodec =
      o.codec === "vp8"
        ? { kind: "video" as const, mimeType: "video/vp8", clockRate: 90000 }
        : {
            kind: "video" as const,
            mimeType: "video/h264",
            clockRate: 90000,
            parameters: "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f",
          };
    this.video = new UpTrack({
      id: "test-video",
      codec: videoCodec,
      requestKeyframe: () => this.pipeline.forceKeyUnit(TEST_SOURCE_ELEMENTS.videoSink),
      keyframeBy: "encoder",
      observer,
    });
    this.audio = new UpTrack({
      id: "test-audio",
      codec: { kind: "audio", mimeType: "audio/opus", clockRate: 48000, channels: 2, parameters: "minptime=10;useinbandfec=1" },
      requestKeyframe: () => {},
      observer,
    });
  }

  /** Starts the pipeline and puts the device online. */
  start(): void {
    this.device.attach(this);
    this.pipeline.start();
    this.pipeline.pullFrom(TEST_SOURCE_ELEMENTS.videoSink, (buf) => this.feed(this.video, buf));
    this.pipeline.pullFrom(TEST_SOURCE_ELEMENTS.audioSink, (buf) => this.feed(this.audio, buf));
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
    this.audio.close();
  }

  private feed(track: UpTrack, buf: Buffer): void {
    const rtp = parseRtp(buf);
    if (rtp) track.push(rtp.sequenceNumber, rtp.timestamp, rtp.marker, rtp.payload);
  }
}
