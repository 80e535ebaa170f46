import { RTP_DECODE_ELEMENTS as E, rtpDecodeDescription, type RtpVideoCodec } from "./descriptions.js";
import { fromGstI420, type I420Picture } from "./i420.js";
import { GstPipeline } from "./pipeline.js";

/** Options of an RtpDecoder. */
export interface RtpDecoderOptions {
  /** Payload type of the packets pushed; default 96. */
  payloadType?: number;
  /** The pipeline failed; the decoder is closed after it. */
  onError?: (message: string) => void;
}

/**
 * Decodes a device's video RTP (VP8, or H.264 through avdec_h264) to packed
 * I420 pictures. Sizes come from each picture's caps, so a resolution change
 * shows in the next picture; odd sizes lose their last column or row.
 */
export class RtpDecoder {
  private readonly pipeline: GstPipeline;

  constructor(
    readonly codec: RtpVideoCodec,
    onPicture: (picture: I420Picture) => void,
    options: RtpDecoderOptions = {},
  ) {
    this.pipeline = new GstPipeline(rtpDecodeDescription(codec, options.payloadType), { kind: "decode", onError: options.onError });
    this.pipeline.start();
    this.pipeline.pullFrom(E.sink, (buf, caps) => {
      const { width, height } = caps;
      if (typeof width !== "number" || typeof height !== "number") {
        throw new TypeError(`decoded picture without a size in its caps: ${JSON.stringify(caps)}`);
      }
      onPicture(fromGstI420(buf, width, height));
    });
  }

  get closed(): boolean {
    return this.pipeline.closed;
  }

  /** Pushes one RTP packet; ignored after close. */
  push(rtp: Buffer): void {
    this.pipeline.pushTo(E.src, rtp);
  }

  /** Stops the pipeline; idempotent. */
  close(): void {
    this.pipeline.close();
  }
}
