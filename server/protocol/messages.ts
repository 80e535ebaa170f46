/**
 * The signaling protocol on `/ws`: every message type, in one module that the
 * server and the web app both compile. The web app imports types only, so
 * zod never reaches the browser bundle. docs/protocol.md is the prose version.
 */
import { z } from "zod";

/** Version of the signaling protocol spoken by this build. */
export const PROTOCOL_VERSION = 1;

/** Largest text message accepted on `/ws`, in bytes. */
export const MAX_MESSAGE_BYTES = 256 * 1024;

/** Error codes carried by `error` messages. */
export const ERROR_CODES = [
  "unauthorized",
  "forbidden",
  "not_found",
  "bad_request",
  "busy",
  "rate_limited",
  "unsupported",
  "too_large",
  "limit",
  "storage",
  "internal",
] as const;
export type ErrorCode = (typeof ERROR_CODES)[number];

/** WebSocket close codes used by the server. */
export const CLOSE_CODES = {
  normal: 1000,
  goingAway: 1001,
  protocolError: 4400,
  unauthorized: 4401,
  forbidden: 4403,
  notFound: 4404,
  helloTimeout: 4408,
  /** Refused as busy: the device key (or device id) is held by another connection. */
  busy: 4409,
  /** The account released the device key this connection held. */
  keyReleased: 4410,
  tooLarge: 4413,
  /** Refused by a configured limit of the account or the node (`--limit`, `--account-limit`): try again later. */
  limit: 4429,
} as const;

/** Time a client has to say hello on any of the server's sockets, ms; then it is closed with 4408. */
export const HELLO_TIMEOUT_MS = 10_000;

/** A device (or peer) id: 1-64 of [A-Za-z0-9._-], starting alphanumeric. */
export const ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
/** What a client is told about an id that does not match ID_PATTERN. */
export const ID_RULE = "ids are 1-64 of [A-Za-z0-9._-], starting alphanumeric";
const id = z.string().regex(ID_PATTERN, ID_RULE);
const sdp = z.string().min(1).max(MAX_MESSAGE_BYTES);

/** An ICE candidate as browsers serialise RTCIceCandidate; null ends gathering. */
export const IceCandidateSchema = z.object({
  candidate: z.string().max(1024),
  sdpMid: z.string().max(64).nullable().optional(),
  sdpMLineIndex: z.number().int().min(0).max(255).nullable().optional(),
  usernameFragment: z.string().max(256).nullable().optional(),
});

/** Device kinds a device may declare; only informative. */
export const DEVICE_KINDS = ["camera", "screen", "phone", "board", "test", "other"] as const;

// ---- client → server -------------------------------------------------------

/**
 * Text people read as a name: no control characters, and none of Unicode's
 * direction overrides and isolates, which make a name read as something
 * else ("You control this device", another device's name reversed).
 */
const READABLE = /^[^\p{Cc}\u202A-\u202E\u2066-\u2069]+$/u;
const READABLE_RULE = "no control characters or text-direction overrides";

/** A name people read (a viewer's, shown to the other viewers of a device): trimmed, 1..40 characters, READABLE. */
export const viewerName = z.string().trim().min(1).max(40).regex(READABLE, READABLE_RULE);
export const HelloSchema = z.object({
  type: z.literal("hello"),
  role: z.enum(["device", "viewer"]),
  protocol: z.literal(PROTOCOL_VERSION),
  token: z.string().max(8192).optional(),
  /** A viewer's name for other viewers (see `name`); viewers only. */
  name: viewerName.optional(),
  /** A device key (`tk_…`) instead of a token; devices only. */
  key: z.string().max(256).optional(),
  device: z
    .object({
      id,
      name: z.string().min(1).max(128).regex(READABLE, READABLE_RULE).optional(),
      kind: z.enum(DEVICE_KINDS).optional(),
    })
    .optional(),
});

/** Device → server: the device's offer (it publishes). */
export const DeviceOfferSchema = z.object({ type: z.literal("offer"), sdp });
/** Viewer → server: the answer to the server's offer for `deviceId`, echoing its offerId. */
export const ViewerAnswerSchema = z.object({
  type: z.literal("answer"),
  deviceId: id,
  sdp,
  offerId: z.number().int().min(0).optional(),
});
/** Either side: a trickled ICE candidate; viewers name the device it belongs to. */
export const ClientCandidateSchema = z.object({
  type: z.literal("candidate"),
  deviceId: id.optional(),
  candidate: IceCandidateSchema.nullable(),
});
export const WatchSchema = z.object({
  type: z.literal("watch"),
  deviceId: id,
  /** The video codecs the viewer's browser receives over WebRTC (lower-case names), when it says. */
  codecs: z
    .array(z.string().regex(/^[a-z0-9-]{1,16}$/, "expected lower-case codec names such as vp8"))
    .max(16)
    .optional(),
});
export const UnwatchSchema = z.object({ type: z.literal("unwatch"), deviceId: id });
export const KeyframeSchema = z.object({ type: z.literal("keyframe"), deviceId: id });
export const ByeSchema = z.object({ type: z.literal("bye") });
const pixels = z.number().int().min(1).max(16384);
/** Viewer → server: the size, in device pixels, at which it shows a watched device's picture (the simulcast layer follows). */
export const ViewSchema = z.object({ type: z.literal("view"), deviceId: id, width: pixels, height: pixels });
/** Viewer → server: the name other viewers see for it (instead of "Viewer 1a2b3c"). */
export const NameSchema = z.object({ type: z.literal("name"), name: viewerName });
/**
 * Viewer → server: take or give up control of a watched device, or, holding
 * it, answer another viewer's ask (`hand_over` or `refuse`, naming it in `to`).
 */
export const CONTROL_ACTIONS = ["request", "release", "hand_over", "refuse"] as const;
export type ControlAction = (typeof CONTROL_ACTIONS)[number];
/** A viewer's peer id, as `welcome` gives it. */
const peerIdSchema = z.string().min(1).max(64);
export const ControlSchema = z.object({
  type: z.literal("control"),
  action: z.enum(CONTROL_ACTIONS),
  deviceId: id,
  to: peerIdSchema.optional(),
  /** From a relay leg of another node of the cluster only: the action is that node's viewer's (its peer id), not the leg's. */
  onBehalf: peerIdSchema.optional(),
  /** With `onBehalf`: the name that viewer goes by. */
  name: viewerName.optional(),
});

/** Every message a client may send after `hello`. */
export const ClientMessageSchema = z.discriminatedUnion("type", [
  HelloSchema,
  DeviceOfferSchema,
  ViewerAnswerSchema,
  ClientCandidateSchema,
  WatchSchema,
  UnwatchSchema,
  KeyframeSchema,
  ByeSchema,
  ControlSchema,
  NameSchema,
  ViewSchema,
]);

export type Hello = z.infer<typeof HelloSchema>;
export type IceCandidate = z.infer<typeof IceCandidateSchema>;
export type ClientMessage = z.infer<typeof ClientMessageSchema>;
export type DeviceKind = (typeof DEVICE_KINDS)[number];

// ---- server → client -------------------------------------------------------

/** A track a device publishes, as listed to viewers. */
export interface TrackInfo {
  kind: "video" | "audio";
  /** Lower-case MIME type, e.g. "video/vp8", "video/h264", "audio/opus". */
  codec: string;
}

/** A device as listed by `devices` and `GET /api/devices`. */
export interface DeviceInfo {
  id: string;
  name: string;
  online: boolean;
  kind: DeviceKind;
  tracks: TrackInfo[];
  viewers: number;
}

/** An RTCIceServer as browsers accept it. */
export interface IceServer {
  urls: string | string[];
  username?: string;
  credential?: string;
}

export interface Welcome {
  type: "welcome";
  peerId: string;
  account: string;
  role: "device" | "viewer";
  iceServers: IceServer[];
  /** Seconds until the first credential in iceServers expires; fetch /api/rtc-config again before half of it passes. */
  iceTtl: number;
  devices?: DeviceInfo[];
}
export interface ServerAnswer {
  type: "answer";
  sdp: string;
}
export interface ServerOffer {
  type: "offer";
  deviceId: string;
  sdp: string;
  /** Identifies this offer; the answer echoes it, so an answer to a replaced offer is recognised. */
  offerId: number;
}
export interface ServerCandidate {
  type: "candidate";
  deviceId?: string;
  candidate: IceCandidate | null;
}
export interface DevicesUpdate {
  type: "devices";
  devices: DeviceInfo[];
}
export interface DeviceOffline {
  type: "device_offline";
  deviceId: string;
}
export interface Watching {
  type: "watching";
  deviceId: string;
  /** true while the device is offline and the subscription waits for it. */
  waiting: boolean;
}
/** The server ended a subscription the viewer did not end itself (e.g. its connection failed). */
export interface Unwatched {
  type: "unwatched";
  deviceId: string;
  reason: string;
}
/** Who controls a device: sent to every viewer of it whenever it changes, and after `watch`. */
export interface ControlState {
  type: "control";
  deviceId: string;
  /** The controlling viewer's peerId (as in its `welcome`), or null when free. */
  holder: string | null;
  /** The holder's name, when it gave one (`name`). */
  holderName?: string;
}
/** To the viewer holding control: another viewer (`from`, its peer id) asks for it; answer with `control` `hand_over` or `refuse`. */
export interface ControlRequest {
  type: "control_request";
  deviceId: string;
  from: string;
  /** The asker's name, when it gave one. */
  fromName?: string;
  /** To a relay leg: the viewer of its node that is asked (the holder). */
  onBehalf?: string;
}
/**
 * To a viewer of a simulcast device over WebRTC: the layer it gets now (0 is
 * the lowest of `layers`), its picture size, and the viewer's bandwidth
 * estimate the server holds (REMB, bits/s). Sent when the layer changes or the
 * estimate moves by a tenth; the stats overlay shows it.
 */
export interface LayerState {
  type: "layer";
  deviceId: string;
  layer: number;
  layers: number;
  width?: number;
  height?: number;
  estimate?: number;
  /** For a layer sent in VP8 temporal layers: the highest forwarded (0 the base, a quarter of the frames of L1T3) of `temporalLayers`. */
  temporal?: number;
  temporalLayers?: number;
  /** True while the viewer gets the lowest layer's fewest frames because its estimate cannot carry even that layer whole. */
  linkTooSlow?: boolean;
  /** True while the server probes the viewer's link with padding before a climb to a higher layer. */
  probing?: boolean;
}
export interface ErrorMessage {
  type: "error";
  code: ErrorCode;
  message: string;
  /** The `type` of the message that caused the error, when there was one. */
  ref?: string;
  deviceId?: string;
  /** To a relay leg: the viewer of its node the error is for. */
  onBehalf?: string;
}

/** The server is going away (shutting down); the socket closes with 1001 next. Reconnect: a restarted server serves again. */
export interface ServerBye {
  type: "bye";
  reason: string;
}

/** Every message the server sends on `/ws`. */
export type ServerMessage =
  | Welcome
  | ServerBye
  | ServerAnswer
  | ServerOffer
  | ServerCandidate
  | DevicesUpdate
  | DeviceOffline
  | Watching
  | Unwatched
  | ControlState
  | ControlRequest
  | LayerState
  | ErrorMessage;

// ---- the `input` data channel ---------------------------------------------

/** Types of the JSON messages a device sends to its viewers on `input`. */
export const DEVICE_MESSAGE_TYPES = ["cursor", "clipboard", "state", "resolution", "pong"] as const;
export type DeviceMessageType = (typeof DEVICE_MESSAGE_TYPES)[number];

/** Largest device → viewer message, bytes. */
export const MAX_DEVICE_MESSAGE_BYTES = 64 * 1024;

/** Device → viewers: a JSON object with one of DEVICE_MESSAGE_TYPES and any fields. */
export interface DeviceMessage {
  type: DeviceMessageType;
  [field: string]: unknown;
}
