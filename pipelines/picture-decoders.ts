import { JPEG_DECODE_ELEMENTS, jpegDecodeDescription, RTP_DECODE_ELEMENTS, rtpDecodeDescription, type DecodableVideoCodec } from "./descriptions.js";
import { fromGstI420, type I420Picture } from "./i420.js";
import { GstPipeline } from "./pipeline.js";

/** Options of a picture decoder. */
export interface DecoderOptions {
  /** The pipeline failed; the decoder is closed after it. */
  onError?: (message: string) => void;
}

/** Options of an RtpDecoder. */
export interface RtpDecoderOptions extends DecoderOptions {
  /** Payload type of the packets pushed; default 96. */
  payloadType?: number;
}

/** Pictures a decoder's buffers go round before one is written again (GstPipeline.pullFrom's `reuse`). */
export const PICTURE_BUFFERS = 3;

/**
 * A GStreamer pipeline that takes coded buffers in and gives packed I420
 * pictures out. Sizes come from each picture's caps, so a resolution change
 * shows in the next picture; odd sizes lose their last column or row.
 * Pictures share PICTURE_BUFFERS buffers: one is written again that many
 * pictures later, so a consumer keeps only the newest picture beyond its
 * call (the picture sources do) and copies any other it holds on to.
 */
class PictureDecoder {
  private readonly pipeline: GstPipeline;

  constructor(
    description: string,
    private readonly elements: { src: string; sink: string },
    onPicture: (picture: I420Picture) => void,
    options: DecoderOptions,
  ) {
    this.pipeline = new GstPipeline(description, { kind: "decode", reuse: true, onError: options.onError });
    this.pipeline.start();
    this.pipeline.pullFrom(
      elements.sink,
      (buf, caps) => {
        const { width, height } = caps;
        if (typeof width !== "number" || typeof height !== "number") {
          throw new TypeError(`decoded picture without a size in its caps: ${JSON.stringify(caps)}`);
        }
        onPicture(fromGstI420(buf, width, height));
      },
      { reuse: PICTURE_BUFFERS },
    );
  }

  get closed(): boolean {
    return this.pipeline.closed;
  }

  /** Pushes one coded buffer; ignored after close. */
  push(data: Buffer): void {
    this.pipeline.pushTo(this.elements.src, data);
  }

  /** Stops the pipeline; idempotent. */
  close(): void {
    this.pipeline.close();
  }
}

/** Decodes a device's video RTP (VP8, VP9, or H.264 through avdec_h264), one packet per push. */
export class RtpDecoder extends PictureDecoder {
  constructor(
    readonly codec: DecodableVideoCodec,
    onPicture: (picture: I420Picture) => void,
    options: RtpDecoderOptions = {},
  ) {
    super(rtpDecodeDescription(codec, options.payloadType), RTP_DECODE_ELEMENTS, onPicture, options);
  }
}

/** Decodes whole JPEG frames (GStreamer jpegdec), one frame per push; frames may change size. */
export class JpegDecoder extends PictureDecoder {
  constructor(onPicture: (picture: I420Picture) => void, options: DecoderOptions = {}) {
    super(jpegDecodeDescription(), JPEG_DECODE_ELEMENTS, onPicture, options);
  }
}
