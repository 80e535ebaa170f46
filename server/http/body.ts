/** Reading request bodies and ids the same way on every route that takes one. */
import type { Context } from "koa";
import { badRequest, TesseraError, tooLarge } from "../errors.js";
import { ID_PATTERN, ID_RULE } from "../protocol/messages.js";

/** Throws bad_request unless `id` is a valid device id. */
export function checkDeviceId(id: string): void {
  if (!ID_PATTERN.test(id)) throw badRequest(`device ${ID_RULE}`);
}

/** Throws 415 unless the request's Content-Type (parameters aside) is `type`. */
export function requireContentType(ctx: Context, type: string): void {
  const given = (ctx.get("Content-Type").split(";")[0] ?? "").trim().toLowerCase();
  if (given !== type) throw new TesseraError("unsupported", `expected Content-Type ${type}, got '${given || "(none)"}'`, 415);
}

/**
 * Reads the body up to `max` bytes: 413 (`"<what> may be at most …"`) as soon
 * as the declared length or the bytes read pass it, before reading the rest.
 */
export async function readBody(ctx: Context, max: number, what: string): Promise<Buffer> {
  const declared = Number(ctx.get("Content-Length") || NaN);
  if (declared > max) throw tooLarge(`${what} may be at most ${max} bytes, this one says ${declared}`);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of ctx.req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > max) throw tooLarge(`${what} may be at most ${max} bytes`);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks, size);
}
