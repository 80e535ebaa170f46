/**
 * The WebSocket fallback stream as the browser reads it: stripes as views
 * into the received message, and the server's JSON messages classified. The
 * format itself (type bytes, header layout, the lines the browser sends) is
 * server/protocol/fallback.ts, which the server writes with. Pure: no DOM,
 * unit-tested in e2e/fallback-wire.test.ts.
 */
import {
  isFallbackCodec,
  isU16,
  readStripeHeader,
  stripeHeaderBytes,
  type FallbackCodec,
  type H264StripeHeader,
  type JpegStripeHeader,
  type StreamMessage,
} from "../../../server/protocol/fallback.js";
import { jsonObject } from "../../../server/protocol/json-object.js";

/** A JPEG stripe: rows from `y` down, as one JPEG picture. */
export interface JpegStripe extends JpegStripeHeader {
  /** A view into the message, not a copy. */
  data: Uint8Array;
}

/** An H.264 stripe: one access unit of the stripe's own encoder. */
export interface H264Stripe extends H264StripeHeader {
  /** Annex-B NAL units; a view into the message. */
  data: Uint8Array;
}

/** Any stripe message. */
export type Stripe = JpegStripe | H264Stripe;

/** Reads a binary stripe message; throws a RangeError naming the problem for short or unknown ones. */
export function parseStripe(buf: Uint8Array): Stripe {
  const h = readStripeHeader(buf);
  return { ...h, data: buf.subarray(stripeHeaderBytes(h.kind)) };
}

/** The fallback socket's own JSON messages (the device's messages pass through as `device`). */
export type FallbackMessage =
  | { type: "ready"; peerId: string; deviceId: string }
  | { type: "control"; holder: string | null; holderName?: string }
  | { type: "control_request"; from: string; fromName?: string }
  | StreamMessage
  | { type: "device_offline" }
  | { type: "device_online" }
  | { type: "pace"; fps: number; tier: number; tiers: number }
  | { type: "error"; code: string; message: string }
  /** A device message (cursor, clipboard, state, resolution): the raw text, for the same handler as the data channel's. */
  | { type: "device"; text: string };

const DEVICE_TYPES: ReadonlySet<string> = new Set(["cursor", "clipboard", "state", "resolution"]);

/** Classifies a text message from the server; undefined for malformed or unknown ones (ignored, never fatal). */
export function parseFallbackText(text: string): FallbackMessage | undefined {
  const o = jsonObject(text);
  if (!o) return undefined;
  switch (o.type) {
    case "ready":
      return typeof o.peerId === "string" && typeof o.deviceId === "string" ? { type: "ready", peerId: o.peerId, deviceId: o.deviceId } : undefined;
    case "control":
      if (typeof o.holder !== "string" && o.holder !== null) return undefined;
      return { type: "control", holder: o.holder, ...(typeof o.holderName === "string" ? { holderName: o.holderName } : {}) };
    case "control_request":
      if (typeof o.from !== "string") return undefined;
      return { type: "control_request", from: o.from, ...(typeof o.fromName === "string" ? { fromName: o.fromName } : {}) };
    case "stream":
      if (!isU16(o.width) || !isU16(o.height) || !isU16(o.stripeHeight) || !isFallbackCodec(o.codec)) return undefined;
      return { type: "stream", width: o.width, height: o.height, codec: o.codec, stripeHeight: o.stripeHeight };
    case "device_offline":
    case "device_online":
      return { type: o.type };
    case "pace":
      if (!isU16(o.fps) || !isU16(o.tier) || !isU16(o.tiers)) return undefined;
      return { type: "pace", fps: o.fps, tier: o.tier, tiers: o.tiers };
    case "error":
      return { type: "error", code: typeof o.code === "string" ? o.code : "internal", message: typeof o.message === "string" ? o.message : "" };
    default:
      return typeof o.type === "string" && DEVICE_TYPES.has(o.type) ? { type: "device", text } : undefined;
  }
}

/**
 * Close codes after which reconnecting cannot help: unauthorized, forbidden, not found. The numbers of
 * CLOSE_CODES, written out because messages.ts builds zod schemas the bundle must not import;
 * e2e/fallback-wire.test.ts holds the two equal.
 */
export const FINAL_CLOSE_CODES: ReadonlySet<number> = new Set([4401, 4403, 4404]);
/** Error codes that come before such a close. */
export const FINAL_ERROR_CODES: ReadonlySet<string> = new Set(["unauthorized", "forbidden", "not_found"]);

/** `ws(s)://host/ws/stream/{deviceId}?codec=…` for a page at `loc`. */
export function fallbackUrl(loc: { protocol: string; host: string }, deviceId: string, codec: FallbackCodec): string {
  return `${loc.protocol === "https:" ? "wss:" : "ws:"}//${loc.host}/ws/stream/${encodeURIComponent(deviceId)}?codec=${codec}`;
}
