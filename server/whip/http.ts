/** HTTP pieces WHIP and WHEP share. */
import type { Context } from "koa";
import { TesseraError, tooLarge } from "../errors.js";

/** Largest SDP body, bytes. */
const MAX_SDP_BYTES = 64 * 1024;
export const ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/** The body of a request of exactly this Content-Type, up to 64 KiB: 415 for another type, 413 beyond. */
export async function readText(ctx: Context, type: string): Promise<string> {
  const given = (ctx.get("Content-Type").split(";")[0] ?? "").trim().toLowerCase();
  if (given !== type) throw new TesseraError("unsupported", `expected Content-Type ${type}, got '${given || "(none)"}'`, 415);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of ctx.req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_SDP_BYTES) throw tooLarge(`a body may be at most ${MAX_SDP_BYTES} bytes`);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString("utf8");
}

/** CORS for browser WHIP clients on other origins (RFC 9725 §4.1); credentials are Bearer tokens, never cookies. */
export function cors(ctx: Context): void {
  ctx.set("Access-Control-Allow-Origin", "*");
  ctx.set("Access-Control-Allow-Methods", "POST, PATCH, DELETE, OPTIONS");
  ctx.set("Access-Control-Allow-Headers", "Authorization, Content-Type, If-Match");
  ctx.set("Access-Control-Expose-Headers", "Location, ETag, Link, Accept-Post, Accept-Patch");
}

