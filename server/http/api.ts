import { createHash, timingSafeEqual } from "node:crypto";
import Router from "@koa/router";
import type { Context, Next } from "koa";
import type { Metrics } from "../../metrics/metrics.js";
import type { DeviceRegistry } from "../devices/registry.js";
import { badRequest, forbidden, toClientError } from "../errors.js";
import { queryValue } from "./query.js";
import type { Logger } from "../log.js";
import type { SessionGrant } from "../auth/authenticator.js";
import type { AuthConfig } from "../auth/firebase-web-config.js";
import type { RtcConfiguration } from "../../turn/ice-config.js";

/** What the HTTP API needs. */
export interface ApiDeps {
  registry: DeviceRegistry;
  metrics: Metrics;
  log: Logger;
  /** The caller's account, as the auth middleware found it. */
  accountOf(ctx: Context): string;
  /** The session token POST /api/session hands the caller for the sockets. */
  session(ctx: Context): SessionGrant;
  /** The ICE configuration for an account, with fresh TURN credentials. */
  rtcConfiguration(account: string): Promise<RtcConfiguration>;
  /** Bearer token /metrics requires; empty = open. */
  metricsToken: string;
  /** Why the server is not ready yet, or undefined when it is. */
  notReady(): string | undefined;
  /** How the pages sign in (GET /api/auth-config, open). */
  authConfig: AuthConfig;
  /** Whether an account may see the cluster (`--admin-account`). */
  isAdmin(account: string): boolean;
  /** The cluster's nodes as this node last read them (undefined without `--redis`). */
  cluster(): ClusterView | undefined;
}

/** `GET /api/cluster`: the nodes, this one marked, and whether Redis answers. */
export interface ClusterView {
  node: string;
  redis: "up" | "down";
  nodes: { id: string; url: string; devices: number; viewers: number; startedAt: string }[];
  /** Relay legs open from this node. */
  legs: number;
}

/** Constant-time comparison of a presented secret with the expected one. */
function sameSecret(given: string, expected: string): boolean {
  const a = createHash("sha256").update(given).digest();
  const b = createHash("sha256").update(expected).digest();
  return timingSafeEqual(a, b);
}

/** Renders any error as `{"error": {"code", "message"}}` with its status; never leaks internals. */
export function errorMiddleware(log: Logger) {
  return async (ctx: Context, next: Next) => {
    try {
      // A path that is not valid percent-encoding is the client's mistake, not a 500 from whatever decodes it first.
      try {
        decodeURIComponent(ctx.path);
      } catch {
        throw badRequest("the path is not valid percent-encoding");
      }
      await next();
    } catch (err) {
      const { code, message, status, headers } = toClientError(err);
      // A path is the client's own text: logged cut short.
      // A limit is the server working as configured (counted in tessera_limit_refusals_total); a full or
      // read-only data directory is the operator's to fix, not a fault of the request.
      if (code === "storage") log.warn("request refused: data directory", { path: ctx.path.slice(0, 200), err: (err as Error).message });
      else if (status >= 500 && code !== "limit") log.error("request failed", { path: ctx.path.slice(0, 200), err });
      ctx.status = status;
      ctx.set(headers);
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
  router.delete("/api/devices/:id", (ctx) => {
    deps.registry.forget(deps.accountOf(ctx), ctx.params.id);
    ctx.status = 204;
  });
  router.get("/api/cluster", (ctx) => {
    if (!deps.isAdmin(deps.accountOf(ctx))) throw forbidden("only an admin account (--admin-account) sees the cluster");
    ctx.set("Cache-Control", "no-store");
    ctx.body = deps.cluster() ?? { node: null, redis: "off", nodes: [], legs: 0 };
  });
  router.get("/api/auth-config", (ctx) => {
    ctx.set("Cache-Control", "no-store");
    ctx.body = deps.authConfig;
  });
  router.post("/api/session", (ctx) => {
    ctx.set("Cache-Control", "no-store");
    ctx.body = deps.session(ctx);
  });
  router.get("/api/rtc-config", async (ctx) => {
    ctx.set("Cache-Control", "no-store");
    const config = await deps.rtcConfiguration(deps.accountOf(ctx));
    if (queryValue(ctx.query, "relay") === "1") config.iceTransportPolicy = "relay";
    ctx.body = config;
  });
  router.get("/readyz", (ctx) => {
    const why = deps.notReady();
    ctx.status = why ? 503 : 200;
    ctx.body = why ? { status: "not_ready", reason: why } : { status: "ready" };
  });
  router.get("/metrics", async (ctx) => {
    if (deps.metricsToken) {
      const m = /^Bearer (.+)$/.exec(ctx.get("Authorization"));
      if (!m || !sameSecret(m[1], deps.metricsToken)) {
        deps.metrics.authFailure(m ? "bad_metrics_token" : "no_metrics_token");
        ctx.status = 401;
        ctx.set("WWW-Authenticate", 'Bearer realm="tessera metrics"');
        ctx.body = { error: { code: "unauthorized", message: "GET /metrics needs Authorization: Bearer <metrics token>" } };
        return;
      }
    }
    ctx.set("Content-Type", deps.metrics.contentType);
    ctx.body = await deps.metrics.text();
  });
  return router;
}
