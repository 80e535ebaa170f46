import { randomBytes } from "node:crypto";
import Router from "@koa/router";
import type { Context } from "koa";
import { notFound } from "../errors.js";
import type { UpTrack } from "../relay/up-track.js";
import { WhepPeer } from "../rtc/whep-peer.js";
import type { SessionContext } from "../sessions/context.js";
import { checkDeviceId } from "../http/body.js";
import { crossOriginPolicy, endpointOptions, type CrossOrigin, readText, newEtag, patchIce, sessionOptions, setIceLinks } from "./http.js";

/** What WHEP needs from the app. */
export interface WhepDeps {
  ctx: SessionContext;
  accountOf(ctx: Context): string;
  /** The caller's account when it presented credentials (a CORS preflight may not). */
  accountIfKnown(ctx: Context): string | undefined;
  /** Which pages of other origins may call. */
  crossOrigin: CrossOrigin;
}

interface Session {
  account: string;
  deviceId: string;
  peer: WhepPeer;
  etag: string;
}

/**
 * WHEP playback: `POST /whep/{deviceId}` with a player's offer answers with
 * the device's tracks; `PATCH` trickles candidates; `DELETE` ends it. The
 * player keeps playing across device reconnects.
 */
export function whepRouter(deps: WhepDeps): Router & { sessions(): number; close(): void } {
  const router = new Router() as Router & { sessions(): number; close(): void };
  const sessions = new Map<string, Session>();
  router.sessions = () => sessions.size;
  /** Ends every session (the server is shutting down): each player's peer connection closes, which it sees. */
  router.close = () => {
    for (const s of sessions.values()) s.peer.close("server shutting down");
    sessions.clear();
  };
  router.use(crossOriginPolicy(deps.crossOrigin));

  router.options("/whep/:id", (ctx) => endpointOptions(ctx, deps.accountIfKnown(ctx), deps.ctx.rtcConfigurationFor));

  router.post("/whep/:id", async (ctx) => {
    const deviceId = ctx.params.id;
    checkDeviceId(deviceId);
    const account = deps.accountOf(ctx);
    const offer = await readText(ctx, "application/sdp");
    const device = deps.ctx.registry.get(account, deviceId);
    if (!device?.online) throw notFound(`device '${deviceId}' is not publishing`);
    const lease = deps.ctx.limits.take("whip", account);
    const id = randomBytes(12).toString("base64url");
    const onOnline = (tracks: readonly UpTrack[]) => peer.attach(tracks);
    let peer: WhepPeer;
    try {
      peer = new WhepPeer(deps.ctx.rtc, device.tracks, deps.ctx.metrics, deps.ctx.log.child(`whep:${deviceId}`), () => {
        sessions.delete(id);
        device.off("online", onOnline);
        device.viewerDelta(-1);
        lease.release();
      });
    } catch (err) {
      lease.release();
      throw err;
    }
    device.on("online", onOnline);
    device.viewerDelta(1);
    let answer: string;
    try {
      answer = await peer.answer(offer);
    } catch (err) {
      peer.close("offer refused");
      throw err;
    }
    const etag = newEtag();
    sessions.set(id, { account, deviceId, peer, etag });
    await setIceLinks(ctx, account, deps.ctx.rtcConfigurationFor);
    ctx.status = 201;
    ctx.set("Location", `/whep/${encodeURIComponent(deviceId)}/${id}`);
    ctx.set("ETag", etag);
    ctx.set("Accept-Patch", "application/trickle-ice-sdpfrag");
    ctx.type = "application/sdp";
    ctx.body = answer;
  });

  const sessionOf = (ctx: Context): Session => {
    const { id, session } = ctx.params as { id: string; session: string };
    const s = sessions.get(session);
    if (!s || s.deviceId !== id || s.account !== deps.accountOf(ctx)) throw notFound("no such WHEP session");
    return s;
  };

  router.patch("/whep/:id/:session", async (ctx) => {
    const s = sessionOf(ctx);
    await patchIce(ctx, s, () => s.peer);
  });

  router.delete("/whep/:id/:session", (ctx) => {
    sessionOf(ctx).peer.close("WHEP session deleted");
    ctx.status = 200;
  });

  router.options("/whep/:id/:session", sessionOptions);

  return router;
}
