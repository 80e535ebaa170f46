import Router from "@koa/router";
import type { Context, Next } from "koa";
import type { Metrics } from "../../metrics/metrics.js";
import type { DeviceRegistry } from "../devices/registry.js";
import { toClientError } from "../errors.js";
import type { Logger } from "../log.js";
import type { RtcConfiguration } from "../../turn/ice-config.js";

/** What the HTTP API needs. */
export interface ApiDeps {
  registry: DeviceRegistry;
  metrics: Metrics;
  log: Logger;
  /** The caller's account; with no auth configured, the one local account. */
  accountOf(ctx: Context): string;
  /** The ICE configuration for an account, with fresh TURN credentials. */
  rtcConfiguration(account: string): RtcConfiguration;
}

/** Renders any error as `{"error": {"code", "message"}}` with its status; never leaks internals. */
export function errorMiddleware(log: Logger) {
  return async (ctx: Context, next: Next) => {
    try {
      await next();
    } catch (err) {
      const { code, message, status } = toClientError(err);
      if (status >= 500) log.error("request failed", { path: ctx.path, err });
      ctx.status = status;
      ctx.body = { error: { code, message } };
    }
  };
}

/** The JSON API and the health and metrics endpoints. */
export function apiRouter(deps: ApiDeps): Router {
  const router = new Router();
  router.get("/healthz", (ctx) => {
    ctx.body = { status: "ok" };
  });
  router.get("/api/devices", (ctx) => {
    ctx.set("Cache-Control", "no-store");
    ctx.body = { devices: deps.registry.list(deps.accountOf(ctx)) };
  });
  router.get("/api/rtc-config", (ctx) => {
    ctx.set("Cache-Control", "no-store");
    const config = deps.rtcConfiguration(deps.accountOf(ctx));
    if (ctx.query.relay === "1") config.iceTransportPolicy = "relay";
    ctx.body = config;
  });
  router.get("/metrics", async (ctx) => {
    ctx.set("Content-Type", deps.metrics.contentType);
    ctx.body = await deps.metrics.text();
  });
  return router;
}
