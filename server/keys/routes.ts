import Router from "@koa/router";
import type { Context } from "koa";
import { z } from "zod";
import { badRequest } from "../errors.js";
import { readBody, requireContentType } from "../http/body.js";
import { ID_PATTERN, ID_RULE } from "../protocol/messages.js";
import type { DeviceKeys } from "./device-keys.js";

/** What the key routes need. */
export interface KeyRouteDeps {
  keys: DeviceKeys;
  accountOf(ctx: Context): string;
}

const CreateSchema = z.strictObject({
  label: z.string().trim().min(1).max(128).optional(),
  deviceId: z.string().regex(ID_PATTERN, `deviceId: ${ID_RULE}`).optional(),
});

/**
 * `/api/keys`: an account creates device keys, lists them with their state,
 * revokes them and releases the reservation of a connected device (a page
 * of another origin may not: originGuard). `{key}`
 * in a path is the key's id (`tk_…`, as listed) or the whole key.
 */
export function keyRouter(deps: KeyRouteDeps): Router {
  const router = new Router();
  router.post("/api/keys", async (ctx) => {
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
    ctx.body = await deps.keys.revoke(deps.accountOf(ctx), ctx.params.key);
  });

  router.post("/api/keys/:key/release", async (ctx) => {
    ctx.body = await deps.keys.release(deps.accountOf(ctx), ctx.params.key);
  });

  return router;
}
