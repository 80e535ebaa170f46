import Router from "@koa/router";
import type { Context } from "koa";
import { badRequest, notFound, TesseraError } from "../errors.js";
import { queryValue } from "../http/query.js";
import type { SnapshotStore } from "./store.js";

/** What the snapshot routes need. */
export interface SnapshotRouteDeps {
  store: SnapshotStore;
  accountOf(ctx: Context): string;
  latestJpegOf(account: string, deviceId: string): Promise<{ jpeg: Buffer } | undefined>;
  /** The origin snapshot URLs start with; default the request's own (scheme and Host, or X-Forwarded-* with --trust-proxy). */
  publicUrl?: string;
  /** Lifetime when the request names none, and the most it may ask for, seconds. */
  defaultTtl: number;
  maxTtl: number;
  /** Counted refusals of snapshot URLs (`expired`, `bad_signature`). */
  refused(reason: "expired" | "bad_signature"): void;
  created(): void;
  /** With a cluster: a snapshot another node stored, asked of the other nodes with the request's signed query. */
  elsewhere?(name: string, query: string): Promise<Buffer | undefined>;
}

/** Sent by a node asking the others for a snapshot: answer from this node's own store only. */
export const SNAPSHOT_ASKED_BY_NODE = "X-Tessera-Node";

/**
 * `POST /api/devices/{id}/snapshots` stores the device's current frame and
 * answers a signed URL that needs no other credentials (for a vision service);
 * `GET /snapshots/{name}` serves it until it expires, and 403 after, or for
 * any changed byte of path, expiry or signature.
 */
export function snapshotRouter(deps: SnapshotRouteDeps): Router {
  const router = new Router();
  router.post("/api/devices/:id/snapshots", async (ctx) => {
    const raw = queryValue(ctx.query, "ttl");
    const ttl = raw === undefined ? deps.defaultTtl : Number(raw);
    if (!Number.isInteger(ttl) || ttl < 1 || ttl > deps.maxTtl) throw badRequest(`ttl must be whole seconds from 1 to ${deps.maxTtl}`);
    const account = deps.accountOf(ctx);
    const frame = await deps.latestJpegOf(account, ctx.params.id);
    if (!frame) throw notFound(`no frame of device '${ctx.params.id}'`);
    const snap = deps.store.save(frame.jpeg, ttl, account);
    deps.created();
    ctx.status = 201;
    ctx.set("Cache-Control", "no-store");
    ctx.body = {
      url: `${deps.publicUrl ?? `${ctx.protocol}://${ctx.host}`}${snap.pathAndQuery}`,
      expires: snap.expires,
      expiresAt: new Date(snap.expires * 1000).toISOString(),
    };
  });
  router.get("/snapshots/:name", async (ctx) => {
    const q = (k: string) => (typeof ctx.query[k] === "string" ? ctx.query[k] : undefined);
    let result = deps.store.open(ctx.params.name, q("expires"), q("sig"));
    // Signed (checked above) but not here: another node of the cluster made it.
    if ("refused" in result && result.refused === "gone" && deps.elsewhere && !ctx.get(SNAPSHOT_ASKED_BY_NODE)) {
      const jpeg = await deps.elsewhere(ctx.params.name, ctx.querystring);
      if (jpeg) result = { jpeg };
    }
    if ("refused" in result) {
      if (result.refused === "gone") throw notFound("this snapshot is gone");
      deps.refused(result.refused);
      throw new TesseraError("forbidden", result.refused === "expired" ? "this snapshot URL has expired" : "this snapshot URL is not valid", 403);
    }
    ctx.set("Cache-Control", "private, max-age=60");
    ctx.type = "image/jpeg";
    ctx.body = result.jpeg;
  });
  return router;
}
