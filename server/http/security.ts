/** HTTP middleware for who may call: security headers on every answer, and the caller's account. */
import { createHash } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { Context, Next } from "koa";
import type { Authenticator } from "../auth/authenticator.js";
import { hostServedWithoutAuth, originAllowed } from "../auth/origin.js";
import { forbidden } from "../errors.js";
import { looksLikeKey, type DeviceKeys } from "../keys/device-keys.js";

/** Paths that stay open in every mode: probes, /metrics (which has its own token), and how to sign in. */
const OPEN_PATHS = new Set(["/healthz", "/readyz", "/metrics", "/api/auth-config"]);

/**
 * The CSP sources (`'sha256-…'`) of the inline scripts (`<script>` with no
 * attributes) in the pages of `dir`: the only inline scripts a page may run,
 * whatever is injected into it. None when the directory cannot be read.
 */
export function inlineScriptHashes(dir: string): string[] {
  let names: string[];
  try {
    names = readdirSync(dir).filter((n) => n.endsWith(".html"));
  } catch {
    return [];
  }
  const hashes = new Set<string>();
  for (const name of names) {
    for (const m of readFileSync(join(dir, name), "utf8").matchAll(/<script>([\s\S]*?)<\/script>/g)) {
      hashes.add(`'sha256-${createHash("sha256").update(m[1], "utf8").digest("base64")}'`);
    }
  }
  return [...hashes].sort();
}

/**
 * The Content-Security-Policy of every answer: only our own scripts (and
 * the pages' own inline ones, `scriptHashes`) and styles; images from
 * blob:/data: (the fallback viewer paints decoded stripes); media from
 * blob:; sockets back to this host only (and to `connectSources`, e.g.
 * Firebase's sign-in endpoints); no framing.
 */
export function contentSecurityPolicy(host: string, connectSources: readonly string[] = [], scriptHashes: readonly string[] = []): string {
  // The Host header is the client's own; keep it to host-name characters so it cannot add directives.
  const self = /^[A-Za-z0-9.\-:[\]]{1,260}$/.test(host) ? ` ws://${host} wss://${host}` : "";
  return [
    "default-src 'self'",
    `script-src 'self'${scriptHashes.map((h) => ` ${h}`).join("")}`,
    "style-src 'self'",
    "img-src 'self' blob: data:",
    "media-src 'self' blob:",
    `connect-src 'self'${self}${connectSources.map((s) => ` ${s}`).join("")}`,
    "worker-src 'self' blob:",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
  ].join("; ");
}

/**
 * Sets the security headers before anything else runs, so error answers carry them too; `connectSources` are
 * origins the pages may also fetch from, `scriptHashes` the pages' inline scripts (inlineScriptHashes).
 */
export function securityHeaders(connectSources: readonly string[] = [], scriptHashes: readonly string[] = []) {
  return async (ctx: Context, next: Next) => {
    ctx.set({
      "Content-Security-Policy": contentSecurityPolicy(ctx.host, connectSources, scriptHashes),
      "X-Frame-Options": "DENY",
      "X-Content-Type-Options": "nosniff",
      "Referrer-Policy": "no-referrer",
    });
    // Over HTTPS (ours, or a proxy's with --trust-proxy): browsers keep to it for a year.
    if (ctx.secure) ctx.set("Strict-Transport-Security", "max-age=31536000");
    await next();
  };
}

/** Methods that change nothing (and need no Origin check). */
const SAFE_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);

/**
 * Refuses (403) a request that changes something when it comes from a page
 * of another origin: the browser would send Basic credentials (or, with
 * `--auth none`, nothing is needed) along with a form post or a no-cors
 * fetch. The server's own origin and `--allowed-origins` get in, and so does
 * a request with a Bearer credential, which a browser never adds by itself.
 * WHIP and WHEP have their own policy (crossOriginPolicy, with CORS).
 */
export function originGuard(allowedOrigins: readonly string[], refused: () => void) {
  return async (ctx: Context, next: Next) => {
    const origin = ctx.get("Origin");
    if (
      origin &&
      !SAFE_METHODS.has(ctx.method) &&
      !/^\/wh[ie]p\//.test(ctx.path) &&
      !/^Bearer \S/.test(ctx.get("Authorization")) &&
      !originAllowed(origin, ctx.host, allowedOrigins)
    ) {
      refused();
      throw forbidden("a page of another origin may not change anything here (see --allowed-origins)");
    }
    await next();
  };
}

/** What a refused Host is told, over HTTP and on a refused upgrade. */
export const HOST_REFUSED = "with --auth none this server answers only to IP addresses, localhost and its --public-url host (a guard against DNS rebinding)";

/** With `--auth none`: 403 for a Host header that is not an address, localhost or one of `names` (see hostServedWithoutAuth). */
export function hostGuard(names: readonly string[], refused: () => void) {
  return async (ctx: Context, next: Next) => {
    if (!hostServedWithoutAuth(ctx.get("Host") || undefined, names)) {
      refused();
      throw forbidden(HOST_REFUSED);
    }
    await next();
  };
}

/**
 * Puts the caller's account in `ctx.state.account`, or answers 401/429
 * through the error middleware. Pages are protected only when the mode says
 * so (Basic: the browser asks once and then sends the credentials itself).
 */
/** @param nodeAccount with a cluster: the account another node's token acts for, or undefined when it is none */
export function authMiddleware(auth: Authenticator, keys: DeviceKeys, nodeAccount?: (token: string) => string | undefined) {
  return async (ctx: Context, next: Next) => {
    const bearer = /^Bearer (\S{1,8192})$/.exec(ctx.get("Authorization"))?.[1];
    const node = bearer !== undefined && nodeAccount ? nodeAccount(bearer) : undefined;
    if (node !== undefined) {
      ctx.state.account = node;
      ctx.state.fromNode = true;
      await next();
      return;
    }
    if (looksLikeKey(bearer)) {
      const scope = keyScopeOf(ctx);
      if (!scope)
        keys.refuse("key_not_publishing", "a device key only publishes (WHIP ingest, frame pushes, /api/rtc-config); use an account's credentials here");
      ctx.state.account = (await keys.verify(bearer, scope.deviceId)).account;
      ctx.state.deviceKey = bearer;
      await next();
      return;
    }
    const api = ctx.path === "/api" || ctx.path.startsWith("/api/");
    const whipOrWhep = /^\/wh[ie]p\//.test(ctx.path);
    if (whipOrWhep) {
      // WHIP/WHEP clients present `Authorization: Bearer <token>`: a socket token (session or ID token).
      // A CORS preflight carries none; it is answered without credentials in its Link headers.
      const authorization = ctx.get("Authorization");
      if (ctx.method === "OPTIONS" && !authorization && auth.mode !== "none") {
        await next();
        return;
      }
      ctx.state.account =
        bearer !== undefined ? await auth.socket(bearer) : await auth.http({ authorization: authorization || undefined, address: ctx.request.ip });
      await next();
      return;
    }
    // Snapshot URLs carry their own signature: an outside service fetches them without credentials.
    if (OPEN_PATHS.has(ctx.path) || ctx.path.startsWith("/snapshots/") || (!api && !auth.protectsPages)) {
      await next();
      return;
    }
    ctx.state.account = await auth.http({ authorization: ctx.get("Authorization") || undefined, address: ctx.request.ip });
    await next();
  };
}

/**
 * Where a device key opens anything: WHIP ingest and frame pushes (for the
 * device in the path), and the ICE configuration a publishing device needs.
 * `undefined` everywhere else: a key publishes one device, it does not act
 * for its account. `{deviceId: undefined}` is a path that names no device.
 */
function keyScopeOf(ctx: Context): { deviceId: string | undefined } | undefined {
  if (ctx.method === "GET" && ctx.path === "/api/rtc-config") return { deviceId: undefined };
  const m = /^\/whip\/([^/]+)(?:\/[^/]+)?$/.exec(ctx.path) ?? (ctx.method === "POST" ? /^\/api\/devices\/([^/]+)\/frames$/.exec(ctx.path) : null);
  try {
    return m ? { deviceId: decodeURIComponent(m[1]) } : undefined;
  } catch {
    return undefined;
  }
}

/** The device key a request presented, if it presented one (authMiddleware checked it). */
export function deviceKeyOf(ctx: Context): string | undefined {
  const key = ctx.state.deviceKey as unknown;
  return typeof key === "string" ? key : undefined;
}

/** The account authMiddleware found. */
export function accountOf(ctx: Context): string {
  const account = ctx.state.account as unknown;
  if (typeof account !== "string") throw new Error("accountOf called on a path authMiddleware does not cover");
  return account;
}

/** The account authMiddleware found, or undefined on a path it leaves open (a CORS preflight). */
export function accountIfKnown(ctx: Context): string | undefined {
  const account = ctx.state.account as unknown;
  return typeof account === "string" ? account : undefined;
}
