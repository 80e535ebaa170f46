/** Structure-aware inputs shared by the fuzzers. */
import fc from "fast-check";
import { ClientMessageSchema } from "../protocol/messages.js";

export const KNOWN_TYPES = ClientMessageSchema.options.map((o) => o.shape.type.value as string);
/** Every field name any client message has, and a few it has not. */
const FIELDS = [...new Set(ClientMessageSchema.options.flatMap((o) => Object.keys(o.shape))), "__proto__", "constructor", "extra"];

/** Values a field could be given: plausible ones, wrong types, huge and hostile ones. */
const fieldValue = fc.oneof(
  fc.jsonValue({ maxDepth: 3 }),
  fc.string({ maxLength: 70 }),
  fc.constantFrom(
    "device",
    "viewer",
    "cam-1",
    "request",
    "hand_over",
    "v=0\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\n",
    "x".repeat(9000),
    "\u0000",
    "../../etc",
    "vp8",
    1,
    -1,
    1e308,
    16385,
  ),
  fc.record({ candidate: fc.string(), sdpMid: fc.option(fc.string()), sdpMLineIndex: fc.option(fc.integer()) }),
  fc.record({ id: fc.string({ maxLength: 70 }), name: fc.string(), kind: fc.string() }),
);

/** `/ws` messages: every known type with any mix of its fields and others, plus raw text. */
export const wsMessage = fc.oneof(
  // Written by hand, not by JSON.stringify of an object: repeated keys and "__proto__" reach the parser as a client could send them.
  fc
    .tuple(fc.oneof(fc.constantFrom(...KNOWN_TYPES), fc.string(), fc.integer()), fc.array(fc.tuple(fc.constantFrom(...FIELDS), fieldValue), { maxLength: 6 }))
    .map(([type, fields]) => `{${[...fields, ["type", type] as const].map(([k, v]) => `${JSON.stringify(k)}:${JSON.stringify(v) ?? "null"}`).join(",")}}`),
  fc.string({ maxLength: 200 }),
  fc.jsonValue().map((v) => JSON.stringify(v)),
);
