/** HTTP pieces WHIP and WHEP share. */
import type { Context } from "koa";
import { TesseraError } from "../errors.js";
import { readBody, requireContentType } from "../http/body.js";
import type { IceCandidate } from "../protocol/messages.js";
import type { RtcConfiguration } from "../../turn/ice-config.js";
import { iceServerLinks, parseSdpFragment } from "./sdpfrag.js";

/** Largest SDP body, bytes. */
const MAX_SDP_BYTES = 64 * 1024;

/** The body of a request of exactly this Content-Type, up to 64 KiB: 415 for another type, 413 beyond. */
export async function readText(ctx: Context, type: string): Promise<string> {
  requireContentType(ctx, type);
  return (await readBody(ctx, MAX_SDP_BYTES, "a body")).toString("utf8");
}

/**
 * A trickle-ICE `PATCH` on a session resource: `If-Match` must name its ETag
 * (412), a fragment with only new ICE credentials (a restart) is refused
 * with 422, and every candidate goes to `add`; answers 204.
 */
export async function trickle(ctx: Context, etag: string, add: (c: IceCandidate) => Promise<void>): Promise<void> {
  const ifMatch = ctx.get("If-Match");
  if (ifMatch && ifMatch !== "*" && ifMatch !== etag) throw new TesseraError("bad_request", "If-Match does not match the session's ETag", 412);
  const frag = parseSdpFragment(await readText(ctx, "application/trickle-ice-sdpfrag"));
  if (frag.ufrag !== undefined && frag.candidates.length === 0 && !frag.end) {
    throw new TesseraError("unsupported", "ICE restarts are not supported; DELETE the session and POST a new offer", 422);
  }
  for (const c of frag.candidates) await add(c);
  ctx.status = 204;
}

/** CORS for browser WHIP clients on other origins (RFC 9725 §4.1); credentials are Bearer tokens, never cookies. */
export function cors(ctx: Context): void {
  ctx.set("Access-Control-Allow-Origin", "*");
  ctx.set("Access-Control-Allow-Methods", "POST, PATCH, DELETE, OPTIONS");
  ctx.set("Access-Control-Allow-Headers", "Authorization, Content-Type, If-Match");
  ctx.set("Access-Control-Expose-Headers", "Location, ETag, Link, Accept-Post, Accept-Patch");
}

/** The account's ICE servers as `Link` headers (none for a caller not known, e.g. a CORS preflight). */
export async function setIceLinks(ctx: Context, account: string | undefined, rtcConfigurationFor: (account: string) => Promise<RtcConfiguration>): Promise<void> {
  if (account === undefined) return;
  const links = iceServerLinks((await rtcConfigurationFor(account)).iceServers);
  if (links.length > 0) ctx.set("Link", links);
}

/** `OPTIONS` on the endpoint: what it takes, CORS, and the caller's ICE servers. */
export async function endpointOptions(ctx: Context, account: string | undefined, rtcConfigurationFor: (account: string) => Promise<RtcConfiguration>): Promise<void> {
  cors(ctx);
  ctx.set("Accept-Post", "application/sdp");
  await setIceLinks(ctx, account, rtcConfigurationFor);
  ctx.status = 204;
}

/** `OPTIONS` on a session resource. */
export function sessionOptions(ctx: Context): void {
  cors(ctx);
  ctx.set("Accept-Patch", "application/trickle-ice-sdpfrag");
  ctx.status = 204;
}
