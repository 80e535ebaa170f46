/**
 * The WebSocket fallback stream's wire format (`/ws/stream/{deviceId}`,
 * Selkies-compatible), in one module that the server and the web app both
 * compile. The frame is cut into full-width horizontal stripes; each stripe
 * travels as one binary message (big-endian header, then the encoded
 * picture). Text messages carry the stream description one way and acks,
 * keyframe requests, settings and input lines the other.
 *
 * Plain TypeScript on purpose: no Buffer, no zod, no DOM, so the browser
 * bundle may import its values (messages.ts, which builds zod schemas, is
 * imported for types only). server/fallback/wire.ts adds the Buffer
 * allocation and the zod check of SETTINGS; web/src/fallback/stripe-wire.ts
 * adds the browser's reader. docs/protocol.md is the prose version.
 */

/** Codecs of the fallback stream, as named in `?codec=` and `stream` messages; the first is the default. */
export const FALLBACK_CODECS = ["jpeg", "h264"] as const;
/** A codec of the fallback stream. */
export type FallbackCodec = (typeof FALLBACK_CODECS)[number];

/** True for a name in FALLBACK_CODECS (`?codec=`, a `stream` message's `codec`). */
export function isFallbackCodec(value: unknown): value is FallbackCodec {
  return (FALLBACK_CODECS as readonly unknown[]).includes(value);
}

/** True for an integer in 0..65535: every stripe header field, and the sizes in a `stream` message. */
export function isU16(value: unknown): value is number {
  return typeof value === "number" && Number.isInteger(value) && value >= 0 && value <= 0xffff;
}

/** The frame id after `frameId`, wrapping at 65536 (the header field is a u16). */
export function nextFrameId(frameId: number): number {
  return (frameId + 1) & 0xffff;
}

/** First byte of a JPEG stripe message. */
export const JPEG_STRIPE_TYPE = 0x03;
/** First byte of an H.264 stripe message. */
export const H264_STRIPE_TYPE = 0x04;
/** Bytes before the JPEG data: type, 0, frameId:u16, y:u16. */
export const JPEG_HEADER_BYTES = 6;
/** Bytes before the Annex-B data: type, frameType, frameId:u16, y:u16, width:u16, height:u16. */
export const H264_HEADER_BYTES = 10;

/** The header of a JPEG stripe: the picture's rows from `y` down, as one JPEG. */
export interface JpegStripeHeader {
  kind: "jpeg";
  frameId: number;
  y: number;
}

/** The header of an H.264 stripe: one access unit of the stripe's own encoder. */
export interface H264StripeHeader {
  kind: "h264";
  /** True for an IDR (frameType 1), false for a delta frame (0). */
  idr: boolean;
  frameId: number;
  y: number;
  width: number;
  height: number;
}

/** The header of any stripe message; its `kind` is the stream's codec. */
export type StripeHeader = JpegStripeHeader | H264StripeHeader;

/** Header bytes of a stripe of `kind`: where its payload starts. */
export function stripeHeaderBytes(kind: FallbackCodec): number {
  return kind === "jpeg" ? JPEG_HEADER_BYTES : H264_HEADER_BYTES;
}

function checkU16(name: string, value: number): void {
  if (!isU16(value)) throw new RangeError(`${name} must be an integer in 0..65535, got ${String(value)}`);
}

// Byte by byte rather than through a DataView: this runs for every stripe sent
// and received, and needs no view object (nor care for a Buffer's byteOffset).
function putU16(out: Uint8Array, at: number, value: number): void {
  out[at] = value >>> 8;
  out[at + 1] = value & 0xff;
}

function getU16(buf: Uint8Array, at: number): number {
  return (buf[at] << 8) | buf[at + 1];
}

/**
 * Writes `h` at the start of `out`, which must hold at least
 * stripeHeaderBytes(h.kind) bytes, and returns that length (the payload goes
 * there). Throws a RangeError, before writing anything, for a field outside u16.
 */
export function writeStripeHeader(out: Uint8Array, h: StripeHeader): number {
  checkU16("frameId", h.frameId);
  checkU16("y", h.y);
  if (h.kind === "h264") {
    checkU16("width", h.width);
    checkU16("height", h.height);
  }
  const bytes = stripeHeaderBytes(h.kind);
  if (out.length < bytes) throw new RangeError(`a ${h.kind} stripe header needs ${bytes} bytes, got ${out.length}`);
  putU16(out, 2, h.frameId);
  putU16(out, 4, h.y);
  if (h.kind === "jpeg") {
    out[0] = JPEG_STRIPE_TYPE;
    out[1] = 0;
  } else {
    out[0] = H264_STRIPE_TYPE;
    out[1] = h.idr ? 1 : 0;
    putU16(out, 6, h.width);
    putU16(out, 8, h.height);
  }
  return bytes;
}

/**
 * Reads the header of a stripe message; its payload is the rest, from
 * stripeHeaderBytes(kind). Throws a RangeError naming the problem for short
 * or unknown messages.
 */
export function readStripeHeader(buf: Uint8Array): StripeHeader {
  if (buf.length < 1) throw new RangeError("stripe message is empty");
  switch (buf[0]) {
    case JPEG_STRIPE_TYPE:
      if (buf.length < JPEG_HEADER_BYTES) throw new RangeError(`JPEG stripe needs ${JPEG_HEADER_BYTES} header bytes, got ${buf.length}`);
      return { kind: "jpeg", frameId: getU16(buf, 2), y: getU16(buf, 4) };
    case H264_STRIPE_TYPE:
      if (buf.length < H264_HEADER_BYTES) throw new RangeError(`H.264 stripe needs ${H264_HEADER_BYTES} header bytes, got ${buf.length}`);
      if (buf[1] > 1) throw new RangeError(`H.264 stripe frame type must be 0 or 1, got ${buf[1]}`);
      return { kind: "h264", idr: buf[1] === 1, frameId: getU16(buf, 2), y: getU16(buf, 4), width: getU16(buf, 6), height: getU16(buf, 8) };
    default:
      throw new RangeError(`unknown stripe message type 0x${buf[0].toString(16).padStart(2, "0")}`);
  }
}

/** `stream`: the picture's size and stripe layout; sent before the first stripe and on every change. */
export interface StreamMessage {
  type: "stream";
  width: number;
  height: number;
  codec: FallbackCodec;
  stripeHeight: number;
}

/** Serialises a `stream` message, its keys always in this order. */
export function streamMessage(m: Omit<StreamMessage, "type">): string {
  const msg: StreamMessage = { type: "stream", width: m.width, height: m.height, codec: m.codec, stripeHeight: m.stripeHeight };
  return JSON.stringify(msg);
}

/** The command word of `CLIENT_FRAME_ACK <frameId>`: every frame up to that one has been drawn. */
export const ACK_COMMAND = "CLIENT_FRAME_ACK";
/** Asks for a whole picture (every H.264 stripe restarts at an IDR). */
export const KEYFRAME_LINE = "REQUEST_KEYFRAME";
/** What starts `SETTINGS,{json}`, e.g. `SETTINGS,{"fps":30}`. */
export const SETTINGS_PREFIX = "SETTINGS,";

/** The ack line for `frameId`. */
export function ackLine(frameId: number): string {
  return `${ACK_COMMAND} ${frameId}`;
}

/** A settings line; the server checks the keys and ranges (server/fallback/wire.ts). */
export function settingsLine(settings: Readonly<Record<string, number>>): string {
  return `${SETTINGS_PREFIX}${JSON.stringify(settings)}`;
}
