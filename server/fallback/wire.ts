/**
 * The WebSocket fallback stream's wire format, Selkies-compatible. The frame
 * is cut into full-width horizontal stripes; each stripe travels as one binary
 * message (big-endian header, then the encoded picture). Text messages carry
 * the stream description one way and acks, keyframe requests, settings and
 * input lines the other.
 */
import { z } from "zod";

/** Codecs of the fallback stream, as named in `?codec=` and `stream` messages. */
export type FallbackCodec = "jpeg" | "h264";

/** First byte of a JPEG stripe message. */
export const JPEG_STRIPE_TYPE = 0x03;
/** First byte of an H.264 stripe message. */
export const H264_STRIPE_TYPE = 0x04;
/** Bytes before the JPEG data: type, 0, frameId:u16, y:u16. */
export const JPEG_HEADER_BYTES = 6;
/** Bytes before the Annex-B data: type, frameType, frameId:u16, y:u16, width:u16, height:u16. */
export const H264_HEADER_BYTES = 10;

/** A JPEG stripe: the picture's rows `y … y + stripe height`. */
export interface JpegStripe {
  kind: "jpeg";
  frameId: number;
  y: number;
  jpeg: Buffer;
}

/** An H.264 stripe: one access unit of the stripe's own encoder. */
export interface H264Stripe {
  kind: "h264";
  /** True for an IDR (frameType 1), false for a delta frame (0). */
  idr: boolean;
  frameId: number;
  y: number;
  width: number;
  height: number;
  annexB: Buffer;
}

/** Any stripe message. */
export type Stripe = JpegStripe | H264Stripe;

function checkU16(name: string, value: number): void {
  if (!Number.isInteger(value) || value < 0 || value > 0xffff) {
    throw new RangeError(`${name} must be an integer in 0..65535, got ${value}`);
  }
}

/** The frame id after `frameId`, wrapping at 65536. */
export function nextFrameId(frameId: number): number {
  return (frameId + 1) & 0xffff;
}

/** One binary message for a JPEG stripe; allocates once. */
export function encodeJpegStripe(frameId: number, y: number, jpeg: Uint8Array): Buffer {
  checkU16("frameId", frameId);
  checkU16("y", y);
  const out = Buffer.allocUnsafe(JPEG_HEADER_BYTES + jpeg.length);
  out[0] = JPEG_STRIPE_TYPE;
  out[1] = 0;
  out.writeUInt16BE(frameId, 2);
  out.writeUInt16BE(y, 4);
  out.set(jpeg, JPEG_HEADER_BYTES);
  return out;
}

/** One binary message for an H.264 stripe; allocates once. */
export function encodeH264Stripe(
  s: { idr: boolean; frameId: number; y: number; width: number; height: number },
  annexB: Uint8Array,
): Buffer {
  checkU16("frameId", s.frameId);
  checkU16("y", s.y);
  checkU16("width", s.width);
  checkU16("height", s.height);
  const out = Buffer.allocUnsafe(H264_HEADER_BYTES + annexB.length);
  out[0] = H264_STRIPE_TYPE;
  out[1] = s.idr ? 1 : 0;
  out.writeUInt16BE(s.frameId, 2);
  out.writeUInt16BE(s.y, 4);
  out.writeUInt16BE(s.width, 6);
  out.writeUInt16BE(s.height, 8);
  out.set(annexB, H264_HEADER_BYTES);
  return out;
}

/**
 * Reads a stripe message. The payload is a view into `buf`, not a copy.
 * Throws a RangeError naming the problem for short or unknown messages.
 */
export function parseStripe(buf: Buffer): Stripe {
  if (buf.length < 1) throw new RangeError("stripe message is empty");
  switch (buf[0]) {
    case JPEG_STRIPE_TYPE:
      if (buf.length < JPEG_HEADER_BYTES) {
        throw new RangeError(`JPEG stripe needs ${JPEG_HEADER_BYTES} header bytes, got ${buf.length}`);
      }
      return { kind: "jpeg", frameId: buf.readUInt16BE(2), y: buf.readUInt16BE(4), jpeg: buf.subarray(JPEG_HEADER_BYTES) };
    case H264_STRIPE_TYPE: {
      if (buf.length < H264_HEADER_BYTES) {
        throw new RangeError(`H.264 stripe needs ${H264_HEADER_BYTES} header bytes, got ${buf.length}`);
      }
      if (buf[1] > 1) throw new RangeError(`H.264 stripe frame type must be 0 or 1, got ${buf[1]}`);
      return {
        kind: "h264",
        idr: buf[1] === 1,
        frameId: buf.readUInt16BE(2),
        y: buf.readUInt16BE(4),
        width: buf.readUInt16BE(6),
        height: buf.readUInt16BE(8),
        annexB: buf.subarray(H264_HEADER_BYTES),
      };
    }
    default:
      throw new RangeError(`unknown stripe message type 0x${buf[0].toString(16).padStart(2, "0")}`);
  }
}

/** The text message that opens the stream and announces each resolution change. */
export interface StreamMessage {
  type: "stream";
  width: number;
  height: number;
  codec: FallbackCodec;
  stripeHeight: number;
}

/** Serialises a `stream` message. */
export function streamMessage(m: Omit<StreamMessage, "type">): string {
  const msg: StreamMessage = { type: "stream", width: m.width, height: m.height, codec: m.codec, stripeHeight: m.stripeHeight };
  return JSON.stringify(msg);
}

/** What a viewer may change with `SETTINGS,{json}`; every key is optional, unknown keys are refused. */
export const FallbackSettingsSchema = z
  .object({
    fps: z.number().int().min(1).max(60),
    jpegQuality: z.number().int().min(1).max(100),
    paintOverQuality: z.number().int().min(1).max(100),
    h264Crf: z.number().int().min(10).max(51),
    h264BitrateKbps: z.number().int().min(100).max(20000),
  })
  .partial()
  .strict();

/** Settings a viewer sent. */
export type FallbackSettings = z.infer<typeof FallbackSettingsSchema>;

/** A text message from a fallback viewer, or why it was refused. */
export type ClientMessage =
  | { kind: "ack"; frameId: number }
  | { kind: "keyframe" }
  | { kind: "settings"; settings: FallbackSettings }
  | { kind: "input"; line: string }
  | { kind: "error"; message: string };

const ACK = "CLIENT_FRAME_ACK";
const KEYFRAME = "REQUEST_KEYFRAME";
const SETTINGS = "SETTINGS,";

/**
 * Classifies a text message from a viewer. Acks, keyframe requests and
 * settings are the stream's own; any other line is input for the device.
 * Never throws: malformed stream messages come back as `{kind: "error"}`.
 */
export function parseClientMessage(text: string): ClientMessage {
  if (text === ACK || text.startsWith(`${ACK} `)) {
    const arg = text.slice(ACK.length + 1);
    if (!/^\d{1,5}$/.test(arg) || Number(arg) > 0xffff) {
      return { kind: "error", message: `${ACK} needs a frame id in 0..65535, got "${arg.slice(0, 16)}"` };
    }
    return { kind: "ack", frameId: Number(arg) };
  }
  if (text === KEYFRAME) return { kind: "keyframe" };
  if (text.startsWith(SETTINGS)) {
    let json: unknown;
    try {
      json = JSON.parse(text.slice(SETTINGS.length));
    } catch {
      return { kind: "error", message: "SETTINGS carries malformed JSON" };
    }
    const parsed = FallbackSettingsSchema.safeParse(json);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      const where = issue.path.length ? `${issue.path.join(".")}: ` : "";
      return { kind: "error", message: `SETTINGS refused: ${where}${issue.message}` };
    }
    return { kind: "settings", settings: parsed.data };
  }
  return { kind: "input", line: text };
}
