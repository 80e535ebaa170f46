import { randomBytes } from "node:crypto";
import Router from "@koa/router";
import type { Context } from "koa";
import { badRequest, busy, notFound, TesseraError } from "../errors.js";
import type { Peer, SessionContext } from "../sessions/context.js";
import { DeviceSession } from "../sessions/device-session.js";
import { cors, ID, readText } from "./http.js";
import { iceServerLinks, parseSdpFragment } from "./sdpfrag.js";

/** What WHIP needs from the app. */
export interface WhipDeps {
  ctx: SessionContext;
  accountOf(ctx: Context): string;
  /** The caller's account when it presented credentials (a CORS preflight may not). */
  accountIfKnown(ctx: Context): string | undefined;
}

interface Resource {
  account: string;
  deviceId: string;
  session: DeviceSession;
  etag: string;
}

/**
 * WHIP ingest (RFC 9725): `POST /whip/{deviceId}` with an SDP offer makes
 * the device publish like any other; the session resource takes trickled
 * candidates (`PATCH`) and ends with `DELETE`.
 */
export function whipRouter(deps: WhipDeps): Router & { sessions(): number } {
  const router = new Router() as Router & { sessions(): number };
  const resources = new Map<string, Resource>();
  router.sessions = () => [...resources.values()].filter((r) => r.session.active).length;
  const links = async (ctx: Context, account: string) => {
    const ice = await deps.ctx.rtcConfigurationFor(account);
    const values = iceServerLinks(ice.iceServers);
    if (values.length > 0) ctx.set("Link", values);
  };

  router.options("/whip/:id", async (ctx) => {
    cors(ctx);
    ctx.set("Accept-Post", "application/sdp");
    const account = deps.accountIfKnown(ctx);
    if (account !== undefined) await links(ctx, account);
    ctx.status = 204;
  });

  router.post("/whip/:id", async (ctx) => {
    cors(ctx);
    const deviceId = ctx.params.id;
    if (!ID.test(deviceId)) throw badRequest("device ids are 1-64 of [A-Za-z0-9._-], starting alphanumeric");
    const account = deps.accountOf(ctx);
    const offer = await readText(ctx, "application/sdp");
    const existing = deps.ctx.registry.get(account, deviceId);
    const live = [...resources.values()].some((r) => r.account === account && r.deviceId === deviceId && r.session.active);
    if (live || existing?.online) throw busy(`device '${deviceId}' is already publishing`);
    for (const [key, r] of resources) if (!r.session.active) resources.delete(key);
    const peer: Peer = { peerId: `whip-${randomBytes(8).toString("hex")}`, account, send: () => {} };
    const session = new DeviceSession(deps.ctx, peer, deviceId, existing?.name ?? deviceId, existing?.kind ?? "other");
    let answer: string | undefined;
    try {
      answer = await session.offer(offer);
    } catch (err) {
      session.close("offer refused");
      throw err;
    }
    if (answer === undefined) throw new TesseraError("internal", "the session ended before it was answered", 500);
    const id = randomBytes(12).toString("base64url");
    const etag = `"${randomBytes(6).toString("hex")}"`;
    resources.set(id, { account, deviceId, session, etag });
    await links(ctx, account);
    ctx.status = 201;
    ctx.set("Location", `/whip/${encodeURIComponent(deviceId)}/${id}`);
    ctx.set("ETag", etag);
    ctx.set("Accept-Patch", "application/trickle-ice-sdpfrag");
    ctx.type = "application/sdp";
    ctx.body = answer;
  });

  const resourceOf = (ctx: Context): Resource => {
    const r = resources.get(ctx.params.session);
    if (!r || r.deviceId !== ctx.params.id || r.account !== deps.accountOf(ctx)) throw notFound("no such WHIP session");
    return r;
  };

  router.patch("/whip/:id/:session", async (ctx) => {
    cors(ctx);
    const r = resourceOf(ctx);
    const ifMatch = ctx.get("If-Match");
    if (ifMatch && ifMatch !== "*" && ifMatch !== r.etag) {
      ctx.status = 412;
      ctx.body = { error: { code: "bad_request", message: "If-Match does not match the session's ETag" } };
      return;
    }
    const frag = parseSdpFragment(await readText(ctx, "application/trickle-ice-sdpfrag"));
    if (frag.ufrag !== undefined && frag.candidates.length === 0 && !frag.end) {
      // A fragment with new credentials and nothing else is an ICE restart.
      throw new TesseraError("unsupported", "ICE restarts are not supported; DELETE the session and POST a new offer", 422);
    }
    for (const c of frag.candidates) await r.session.addCandidate(c);
    ctx.status = 204;
  });

  router.delete("/whip/:id/:session", (ctx) => {
    cors(ctx);
    const r = resourceOf(ctx);
    resources.delete(ctx.params.session);
    r.session.close("WHIP session deleted");
    ctx.status = 200;
  });

  router.options("/whip/:id/:session", (ctx) => {
    cors(ctx);
    ctx.set("Accept-Patch", "application/trickle-ice-sdpfrag");
    ctx.status = 204;
  });

  return router;
}
