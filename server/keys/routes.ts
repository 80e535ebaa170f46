import Router from "@koa/router";
import type { Context } from "koa";
import { z } from "zod";
import { badRequest, forbidden } from "../errors.js";
import { originAllowed } from "../auth/origin.js";
import { readBody, requireContentType } from "../http/body.js";
import { ID_PATTERN, ID_RULE } from "../protocol/messages.js";
import type { DeviceKeys } from "./device-keys.js";

/** What the key routes need. */
export interface KeyRouteDeps {
  keys: DeviceKeys;
  accountOf(ctx: Context): string;
  /** Origins besides the server's own that may call state-changing routes from a page (--allowed-origins). */
  allowedOrigins: readonly string[];
}

const CreateSchema = z.strictObject({
  label: z.string().trim().min(1).max(128).optional(),
  deviceId: z.string().regex(ID_PATTERN, `deviceId: ${ID_RULE}`).optional(),
});

/**
 * `/api/keys`: an account creates device keys, lists them with their state,
 * revokes them and releases the reservation of a connected device. `{key}`
 * in a path is the key's id (`tk_…`, as listed) or the whole key.
 */
export function keyRouter(deps: KeyRouteDeps): Router {
  const router = new Router();
  // A page of another site could make the browser send Basic credentials with a form post.
  const sameOrigin = (ctx: Context) => {
    if (!originAllowed(ctx.get("Origin") || undefined, ctx.host, deps.allowedOrigins)) throw forbidden("this page's origin may not change device keys");
  };

  router.post("/api/keys", async (ctx) => {
    sameOrigin(ctx);
    requireContentType(ctx, "application/json");
    let body: unknown;
    try {
      body = JSON.parse((await readBody(ctx, 4096, "a key request")).toString("utf8"));
    } catch (err) {
      if (err instanceof SyntaxError) throw badRequest("the body is not JSON");
      throw err;
    }
    const parsed = CreateSchema.safeParse(body);
    if (!parsed.success) throw badRequest(`bad key request: ${parsed.error.issues.map((i) => `${i.path.join(".") || "body"}: ${i.message}`).join("; ")}`);
    const { label, deviceId } = parsed.data;
    ctx.set("Cache-Control", "no-store");
    ctx.status = 201;
    ctx.body = await deps.keys.create(deps.accountOf(ctx), label ?? deviceId ?? "device key", deviceId ?? null);
  });

  router.get("/api/keys", async (ctx) => {
    ctx.set("Cache-Control", "no-store");
    ctx.body = { keys: await deps.keys.list(deps.accountOf(ctx)) };
  });

  router.delete("/api/keys/:key", async (ctx) => {
    sameOrigin(ctx);
    ctx.body = await deps.keys.revoke(deps.accountOf(ctx), ctx.params.key);
  });

  router.post("/api/keys/:key/release", async (ctx) => {
    sameOrigin(ctx);
    ctx.body = await deps.keys.release(deps.accountOf(ctx), ctx.params.key);
  });

  return router;
}
