/**
 * The WebSocket fallback stream's wire format, as the browser reads it
 * (server/fallback/wire.ts writes it; that module needs node's Buffer and zod,
 * so the browser has its own reader). Pure: no DOM, unit-tested in
 * e2e/fallback-wire.test.ts.
 */

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

/** A JPEG stripe: rows from `y` down, as one JPEG picture. */
export interface JpegStripe {
  kind: "jpeg";
  frameId: number;
  y: number;
  /** A view into the message, not a copy. */
  data: Uint8Array;
}

/** An H.264 stripe: one access unit of the stripe's own encoder. */
export interface H264Stripe {
  kind: "h264";
  /** True for an IDR (frameType 1), false for a delta (0). */
  idr: boolean;
  frameId: number;
  y: number;
  width: number;
  height: number;
  /** Annex-B NAL units; a view into the message. */
  data: Uint8Array;
}

/** Any stripe message. */
export type Stripe = JpegStripe | H264Stripe;

/** Reads a binary stripe message; throws a RangeError naming the problem for short or unknown ones. */
export function parseStripe(buf: Uint8Array): Stripe {
  if (buf.length < 1) throw new RangeError("stripe message is empty");
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  switch (buf[0]) {
    case JPEG_STRIPE_TYPE:
      if (buf.length < JPEG_HEADER_BYTES) throw new RangeError(`JPEG stripe needs ${JPEG_HEADER_BYTES} header bytes, got ${buf.length}`);
      return { kind: "jpeg", frameId: view.getUint16(2), y: view.getUint16(4), data: buf.subarray(JPEG_HEADER_BYTES) };
    case H264_STRIPE_TYPE:
      if (buf.length < H264_HEADER_BYTES) throw new RangeError(`H.264 stripe needs ${H264_HEADER_BYTES} header bytes, got ${buf.length}`);
      if (buf[1] > 1) throw new RangeError(`H.264 stripe frame type must be 0 or 1, got ${buf[1]}`);
      return {
        kind: "h264",
        idr: buf[1] === 1,
        frameId: view.getUint16(2),
        y: view.getUint16(4),
        width: view.getUint16(6),
        height: view.getUint16(8),
        data: buf.subarray(H264_HEADER_BYTES),
      };
    default:
      throw new RangeError(`unknown stripe message type 0x${buf[0].toString(16).padStart(2, "0")}`);
  }
}

/** `stream`: the picture's size and stripe layout; sent before the first stripe and on every change. */
export interface StreamInfo {
  type: "stream";
  width: number;
  height: number;
  codec: FallbackCodec;
  stripeHeight: number;
}

/** The fallback socket's own JSON messages (the device's messages pass through as `device`). */
export type FallbackMessage =
  | { type: "ready"; peerId: string; deviceId: string }
  | { type: "control"; holder: string | null }
  | StreamInfo
  | { type: "device_offline" }
  | { type: "device_online" }
  | { type: "error"; code: string; message: string }
  /** A device message (cursor, clipboard, state, resolution): the raw text, for the same handler as the data channel's. */
  | { type: "device"; text: string };

const DEVICE_TYPES: ReadonlySet<string> = new Set(["cursor", "clipboard", "state", "resolution"]);

const isU16 = (v: unknown): v is number => typeof v === "number" && Number.isInteger(v) && v >= 0 && v <= 0xffff;

/** Classifies a text message from the server; undefined for malformed or unknown ones (ignored, never fatal). */
export function parseFallbackText(text: string): FallbackMessage | undefined {
  let m: unknown;
  try {
    m = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof m !== "object" || m === null) return undefined;
  const o = m as Record<string, unknown>;
  switch (o.type) {
    case "ready":
      return typeof o.peerId === "string" && typeof o.deviceId === "string" ? { type: "ready", peerId: o.peerId, deviceId: o.deviceId } : undefined;
    case "control":
      return typeof o.holder === "string" || o.holder === null ? { type: "control", holder: o.holder } : undefined;
    case "stream":
      if (!isU16(o.width) || !isU16(o.height) || !isU16(o.stripeHeight) || (o.codec !== "jpeg" && o.codec !== "h264")) return undefined;
      return { type: "stream", width: o.width, height: o.height, codec: o.codec, stripeHeight: o.stripeHeight };
    case "device_offline":
    case "device_online":
      return { type: o.type };
    case "error":
      return { type: "error", code: typeof o.code === "string" ? o.code : "internal", message: typeof o.message === "string" ? o.message : "" };
    default:
      return typeof o.type === "string" && DEVICE_TYPES.has(o.type) ? { type: "device", text } : undefined;
  }
}

/** `CLIENT_FRAME_ACK <frameId>`: every frame up to this one has been drawn. */
export const ackLine = (frameId: number): string => `CLIENT_FRAME_ACK ${frameId}`;
/** Asks for a whole picture (every H.264 stripe restarts at an IDR). */
export const KEYFRAME_LINE = "REQUEST_KEYFRAME";
/** `SETTINGS,{json}`: e.g. `{"fps":30}`. */
export const settingsLine = (settings: Record<string, number>): string => `SETTINGS,${JSON.stringify(settings)}`;

/** Close codes after which reconnecting cannot help: unauthorized, forbidden, not found. */
export const FINAL_CLOSE_CODES: ReadonlySet<number> = new Set([4401, 4403, 4404]);
/** Error codes that come before such a close. */
export const FINAL_ERROR_CODES: ReadonlySet<string> = new Set(["unauthorized", "forbidden", "not_found"]);

/** `ws(s)://host/ws/stream/{deviceId}?codec=…` for a page at `loc`. */
export function fallbackUrl(loc: { protocol: string; host: string }, deviceId: string, codec: FallbackCodec): string {
  return `${loc.protocol === "https:" ? "wss:" : "ws:"}//${loc.host}/ws/stream/${encodeURIComponent(deviceId)}?codec=${codec}`;
}
