import { randomBytes } from "node:crypto";
import Router from "@koa/router";
import type { Context } from "koa";
import { badRequest, busy, notFound } from "../errors.js";
import type { Peer, SessionContext } from "../sessions/context.js";
import { DeviceSession } from "../sessions/device-session.js";
import { checkDeviceId } from "../http/body.js";
import { deviceKeyOf } from "../http/security.js";
import type { DeviceKeys } from "../keys/device-keys.js";
import { crossOriginPolicy, endpointOptions, type CrossOrigin, readText, newEtag, patchIce, sessionOptions, setIceLinks } from "./http.js";

/** What WHIP needs from the app. */
export interface WhipDeps {
  ctx: SessionContext;
  accountOf(ctx: Context): string;
  /** The caller's account when it presented credentials (a CORS preflight may not). */
  accountIfKnown(ctx: Context): string | undefined;
  /** Which pages of other origins may call. */
  crossOrigin: CrossOrigin;
  /** Device keys a WHIP client may present as its Bearer token. */
  keys: DeviceKeys;
}

interface Resource {
  account: string;
  deviceId: string;
  session: DeviceSession;
  /** Ends the session and frees what it holds (its device key, its place under the limits). */
  end(reason: string): void;
  etag: string;
}

/**
 * WHIP ingest (RFC 9725): `POST /whip/{deviceId}` with an SDP offer makes
 * the device publish like any other; the session resource takes trickled
 * candidates (`PATCH`) and ends with `DELETE`.
 */
export function whipRouter(deps: WhipDeps): Router & { sessions(): number; close(): void } {
  const router = new Router() as Router & { sessions(): number; close(): void };
  const resources = new Map<string, Resource>();
  router.sessions = () => [...resources.values()].filter((r) => r.session.active).length;
  /** Ends every session (the server is shutting down): each publisher's peer connection closes, which its client sees. */
  router.close = () => {
    for (const r of resources.values()) r.end("server shutting down");
    resources.clear();
  };
  router.use(crossOriginPolicy(deps.crossOrigin));

  router.options("/whip/:id", (ctx) => endpointOptions(ctx, deps.accountIfKnown(ctx), deps.ctx.rtcConfigurationFor));

  router.post("/whip/:id", async (ctx) => {
    const deviceId = ctx.params.id;
    checkDeviceId(deviceId);
    const account = deps.accountOf(ctx);
    const offer = await readText(ctx, "application/sdp");
    const existing = deps.ctx.registry.get(account, deviceId);
    const live = [...resources.values()].some((r) => r.account === account && r.deviceId === deviceId && r.session.active);
    if (live || existing?.online) throw busy(`device '${deviceId}' is already publishing`);
    for (const [key, r] of resources) if (!r.session.active) resources.delete(key);
    const peer: Peer = { peerId: `whip-${randomBytes(8).toString("hex")}`, account, send: () => {} };
    const lease = deps.ctx.limits.take("whip", account);
    // A device key is held by this session until it ends; its account may take it back (release, revoke).
    let reservation: Awaited<ReturnType<DeviceKeys["claim"]>> | undefined;
    let session: DeviceSession | undefined;
    /** The session ends with its connection: the device goes offline, its key and its place under the limits are free. */
    const end = (reason: string) => {
      session?.close(reason);
      reservation?.end();
      lease.release();
    };
    try {
      const key = deviceKeyOf(ctx);
      reservation = key ? await deps.keys.claim(key, deviceId, { evict: (why) => end(`device key ${why}`) }) : undefined;
      session = new DeviceSession({
        ctx: deps.ctx,
        peer,
        deviceId,
        name: existing?.name ?? deviceId,
        kind: existing?.kind ?? "other",
        onPublisherClosed: () => end("connection ended"),
      });
    } catch (err) {
      end("refused");
      throw err;
    }
    let answer: string | undefined;
    try {
      answer = await session.offer(offer);
    } catch (err) {
      end("offer refused");
      throw err;
    }
    // Its connection failed while it was being answered: nothing in the offer can be reached (found by the fuzzer).
    if (answer === undefined) {
      end("connection failed");
      throw badRequest("the offer's connection failed before it was answered: check its ICE candidates");
    }
    const id = randomBytes(12).toString("base64url");
    const etag = newEtag();
    resources.set(id, { account, deviceId, session, end, etag });
    await setIceLinks(ctx, account, deps.ctx.rtcConfigurationFor);
    ctx.status = 201;
    ctx.set("Location", `/whip/${encodeURIComponent(deviceId)}/${id}`);
    ctx.set("ETag", etag);
    ctx.set("Accept-Patch", "application/trickle-ice-sdpfrag");
    ctx.type = "application/sdp";
    ctx.body = answer;
  });

  const resourceOf = (ctx: Context): Resource => {
    const { id, session } = ctx.params as { id: string; session: string };
    const r = resources.get(session);
    if (!r || r.deviceId !== id || r.account !== deps.accountOf(ctx)) throw notFound("no such WHIP session");
    return r;
  };

  router.patch("/whip/:id/:session", async (ctx) => {
    const r = resourceOf(ctx);
    await patchIce(ctx, r, () => r.session.ice);
  });

  router.delete("/whip/:id/:session", (ctx) => {
    const r = resourceOf(ctx);
    resources.delete(ctx.params.session);
    r.end("WHIP session deleted");
    ctx.status = 200;
  });

  router.options("/whip/:id/:session", sessionOptions);

  return router;
}
