/**
 * The server's side of the WebSocket fallback stream's wire format: stripe
 * messages as Buffers, and the classification of what viewers send, with zod
 * checking SETTINGS. The format itself (type bytes, header layout, text
 * message names) is server/protocol/fallback.ts, shared with the web app.
 */
import { z } from "zod";
import {
  ACK_COMMAND,
  KEYFRAME_LINE,
  readStripeHeader,
  SETTINGS_PREFIX,
  stripeHeaderBytes,
  writeStripeHeader,
  type H264StripeHeader,
  type JpegStripeHeader,
  type StripeHeader,
} from "../protocol/fallback.js";

/** A JPEG stripe as node reads it: the picture's rows `y … y + stripe height`. */
export interface JpegStripe extends JpegStripeHeader {
  jpeg: Buffer;
}

/** An H.264 stripe as node reads it: one access unit of the stripe's own encoder. */
export interface H264Stripe extends H264StripeHeader {
  annexB: Buffer;
}

/** Any stripe message, as node reads it. */
export type Stripe = JpegStripe | H264Stripe;

// One allocation per message: the header is written in place in front of the payload.
function encodeStripe(header: StripeHeader, payload: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(stripeHeaderBytes(header.kind) + payload.length);
  out.set(payload, writeStripeHeader(out, header));
  return out;
}

/** One binary message for a JPEG stripe; allocates once. */
export function encodeJpegStripe(frameId: number, y: number, jpeg: Uint8Array): Buffer {
  return encodeStripe({ kind: "jpeg", frameId, y }, jpeg);
}

/** One binary message for an H.264 stripe; allocates once. */
export function encodeH264Stripe(s: { idr: boolean; frameId: number; y: number; width: number; height: number }, annexB: Uint8Array): Buffer {
  return encodeStripe({ kind: "h264", idr: s.idr, frameId: s.frameId, y: s.y, width: s.width, height: s.height }, annexB);
}

/**
 * Reads a stripe message. The payload is a view into `buf`, not a copy.
 * Throws a RangeError naming the problem for short or unknown messages.
 */
export function parseStripe(buf: Buffer): Stripe {
  const h = readStripeHeader(buf);
  const payload = buf.subarray(stripeHeaderBytes(h.kind));
  return h.kind === "jpeg" ? { ...h, jpeg: payload } : { ...h, annexB: payload };
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

/**
 * Classifies a text message from a viewer. Acks, keyframe requests and
 * settings are the stream's own; any other line is input for the device.
 * Never throws: malformed stream messages come back as `{kind: "error"}`.
 */
export function parseClientMessage(text: string): ClientMessage {
  if (text === ACK_COMMAND || text.startsWith(`${ACK_COMMAND} `)) {
    const arg = text.slice(ACK_COMMAND.length + 1);
    if (!/^\d{1,5}$/.test(arg) || Number(arg) > 0xffff) {
      return { kind: "error", message: `${ACK_COMMAND} needs a frame id in 0..65535, got "${arg.slice(0, 16)}"` };
    }
    return { kind: "ack", frameId: Number(arg) };
  }
  if (text === KEYFRAME_LINE) return { kind: "keyframe" };
  if (text.startsWith(SETTINGS_PREFIX)) {
    let json: unknown;
    try {
      json = JSON.parse(text.slice(SETTINGS_PREFIX.length));
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
