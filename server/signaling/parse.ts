import { badRequest, TesseraError } from "../errors.js";
import { ClientMessageSchema, MAX_MESSAGE_BYTES, type ClientMessage } from "../protocol/messages.js";

const KNOWN_TYPES = new Set(ClientMessageSchema.options.map((o) => o.shape.type.value as string));

/**
 * Turns one text frame into a validated client message, or throws a
 * bad_request TesseraError that says exactly what is wrong.
 */
export function parseClientMessage(text: string): ClientMessage {
  if (Buffer.byteLength(text) > MAX_MESSAGE_BYTES) throw new TesseraError("bad_request", `message exceeds ${MAX_MESSAGE_BYTES} bytes`, 413);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw badRequest("message is not valid JSON");
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) throw badRequest("message must be a JSON object");
  const type = (value as { type?: unknown }).type;
  if (typeof type !== "string") throw badRequest("message has no string 'type'");
  if (!KNOWN_TYPES.has(type)) throw badRequest(`unknown message type '${type.slice(0, 32)}'`);
  const result = ClientMessageSchema.safeParse(value);
  if (!result.success) {
    const issue = result.error.issues[0];
    const where = issue.path.length ? issue.path.join(".") : "message";
    throw badRequest(`${type}: ${where}: ${issue.message}`);
  }
  return result.data;
}
