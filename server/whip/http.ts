/** HTTP pieces WHIP and WHEP share. */
import type { Context, Middleware } from "koa";
import { randomBytes } from "node:crypto";
import { originAllowed } from "../auth/origin.js";
import { badRequest, forbidden, TesseraError } from "../errors.js";
import { iceFragment, type IceEnd } from "../rtc/ice-restart.js";
import { MAX_SDP_BYTES } from "../rtc/limits.js";
import { readBody, requireContentType } from "../http/body.js";
import type { RtcConfiguration } from "../../turn/ice-config.js";
import { iceServerLinks, parseSdpFragment } from "./sdpfrag.js";

/** The body of a request of exactly this Content-Type, up to MAX_SDP_BYTES: 415 for another type, 413 beyond. */
export async function readText(ctx: Context, type: string): Promise<string> {
  requireContentType(ctx, type);
  return (await readBody(ctx, MAX_SDP_BYTES, "a body")).toString("utf8");
}

/**
 * A `PATCH` on a session resource (RFC 9725 §4.3): `If-Match` must name its
 * ETag (alone or in a list) or be `*` (412). New ICE credentials (a username fragment other than
 * the current one) restart ICE: the answer is `200` with the server's new
 * credentials and candidates as a fragment, and a new ETag. Otherwise the
 * candidates are added (trickle) and the answer is `204`.
 */
export async function patchIce(ctx: Context, session: { etag: string }, ice: () => IceEnd): Promise<void> {
  // RFC 9110 §13.1.1: `*` or a list of entity tags, compared strongly (a weak tag never matches).
  const ifMatch = ctx.get("If-Match");
  const tags = ifMatch.split(",").map((t) => t.trim());
  if (ifMatch && !tags.includes("*") && !tags.includes(session.etag)) throw new TesseraError("bad_request", "If-Match does not match the session's ETag", 412);
  const frag = parseSdpFragment(await readText(ctx, "application/trickle-ice-sdpfrag"));
  const end = ice();
  if (frag.ufrag !== undefined && frag.ufrag !== end.remoteIceUfrag) {
    if (!frag.pwd) throw badRequest("an ICE restart needs a=ice-pwd with its a=ice-ufrag");
    const local = await end.restartIce({ ufrag: frag.ufrag, pwd: frag.pwd, candidates: frag.candidates });
    session.etag = newEtag();
    ctx.status = 200;
    ctx.set("ETag", session.etag);
    ctx.type = "application/trickle-ice-sdpfrag";
    ctx.body = iceFragment(local);
    return;
  }
  for (const c of frag.candidates) await end.addCandidate(c);
  ctx.status = 204;
}

/** A fresh ETag for a session resource. */
export function newEtag(): string {
  return `"${randomBytes(6).toString("hex")}"`;
}

/** Who may call WHIP/WHEP from a page of another origin. */
export interface CrossOrigin {
  /** Origins besides the server's own whose pages may call (--allowed-origins, normalised). */
  allowedOrigins: readonly string[];
  /**
   * Sign-in is on, so a page of any origin may call with a Bearer credential
   * of its own (never cookies or Basic credentials: the answer is `*`, which
   * browsers do not pair with ambient credentials).
   */
  bearerFromAnyOrigin: boolean;
}

/**
 * CORS for browser WHIP/WHEP clients (RFC 9725 §4.1) without opening the
 * server to every website: callers with no Origin (encoders, players that
 * are not browsers), the server's own pages and --allowed-origins get in;
 * another origin only with a Bearer credential while sign-in is on (its
 * preflight, which carries none, is answered so the real request can show
 * it). Anything else is 403 before the route runs.
 */
export function crossOriginPolicy(policy: CrossOrigin): Middleware {
  return async (ctx, next) => {
    const origin = ctx.get("Origin");
    let allow: string | undefined;
    if (!origin) allow = undefined;
    else if (originAllowed(origin, ctx.host, policy.allowedOrigins)) allow = origin;
    else if (policy.bearerFromAnyOrigin && (ctx.method === "OPTIONS" || /^Bearer \S/.test(ctx.get("Authorization")))) allow = "*";
    else {
      throw forbidden(
        `a page of ${origin.slice(0, 100)} may not use WHIP/WHEP here: list its origin in --allowed-origins` +
          (policy.bearerFromAnyOrigin ? " or send a Bearer credential" : ""),
      );
    }
    ctx.vary("Origin");
    if (allow) ctx.set("Access-Control-Allow-Origin", allow);
    ctx.set("Access-Control-Allow-Methods", "POST, PATCH, DELETE, OPTIONS");
    ctx.set("Access-Control-Allow-Headers", "Authorization, Content-Type, If-Match");
    ctx.set("Access-Control-Expose-Headers", "Location, ETag, Link, Accept-Post, Accept-Patch");
    await next();
  };
}

/** The account's ICE servers as `Link` headers (none for a caller not known, e.g. a CORS preflight). */
export async function setIceLinks(
  ctx: Context,
  account: string | undefined,
  rtcConfigurationFor: (account: string) => Promise<RtcConfiguration>,
): Promise<void> {
  if (account === undefined) return;
  const links = iceServerLinks((await rtcConfigurationFor(account)).iceServers);
  if (links.length > 0) ctx.set("Link", links);
}

/** `OPTIONS` on the endpoint: what it takes and the caller's ICE servers. */
export async function endpointOptions(
  ctx: Context,
  account: string | undefined,
  rtcConfigurationFor: (account: string) => Promise<RtcConfiguration>,
): Promise<void> {
  ctx.set("Accept-Post", "application/sdp");
  await setIceLinks(ctx, account, rtcConfigurationFor);
  ctx.status = 204;
}

/** `OPTIONS` on a session resource. */
export function sessionOptions(ctx: Context): void {
  ctx.set("Accept-Patch", "application/trickle-ice-sdpfrag");
  ctx.status = 204;
}
