import type { IncomingMessage } from "node:http";
import type { Duplex } from "node:stream";
import { fileURLToPath } from "node:url";
import Koa from "koa";
import serve from "koa-static";
import { WebSocketServer, type ServerOptions } from "ws";
import { Metrics } from "../metrics/metrics.js";
import { IceProvider } from "../turn/ice-provider.js";
import type { Config } from "./config.js";
import { ConfigError } from "./config.js";
import { DeviceRegistry } from "./devices/registry.js";
import { FallbackHub } from "./fallback/hub.js";
import { SOURCE_DEFAULTS } from "./fallback/source.js";
import { FallbackViewer } from "./fallback/viewer.js";
import { PictureGrabber } from "./fallback/grabber.js";
import { FrameDevices } from "./frames/frame-devices.js";
import { pullSocket } from "./frames/pull.js";
import { framesRouter, ingestSocket } from "./frames/routes.js";
import { accessSync, constants } from "node:fs";
import { ensureDataDir, loadSecret } from "./auth/data-dir.js";
import { deviceAuthenticator, DeviceKeys, type KeyRefusal } from "./keys/device-keys.js";
import { keyRouter } from "./keys/routes.js";
import { snapshotRouter } from "./snapshots/routes.js";
import { SnapshotStore } from "./snapshots/store.js";
import { whepRouter } from "./whip/whep.js";
import { whipRouter } from "./whip/whip.js";
import { apiRouter, errorMiddleware } from "./http/api.js";
import { keepAlive, upgradeRouter } from "./http/upgrades.js";
import { accountIfKnown, accountOf, authMiddleware, HOST_REFUSED, hostGuard, inlineScriptHashes, originGuard, securityHeaders } from "./http/security.js";
import { LOCAL_ACCOUNT, type Authenticator } from "./auth/authenticator.js";
import { authenticatorFor } from "./auth/from-config.js";
import { authConfigFor, firebaseConnectSources, loadFirebaseWebConfig } from "./auth/firebase-web-config.js";
import { hostServedWithoutAuth, originAllowed } from "./auth/origin.js";
import { createLogger, type Logger } from "./log.js";
import { isFallbackCodec, type FallbackCodec } from "./protocol/fallback.js";
import { CLOSE_CODES, ID_PATTERN, ID_RULE, MAX_MESSAGE_BYTES } from "./protocol/messages.js";
import { resolveIceHosts, type RtcSettings } from "./rtc/peer-config.js";
import type { SessionContext } from "./sessions/context.js";
import { SignalingConnection, type Authenticate } from "./signaling/connection.js";
import { LocalSources } from "./sources/local-sources.js";
import { TRANSCODE_BITRATE_KBPS, Transcoders } from "./sources/transcoder.js";
import { runningPipelines } from "../pipelines/pipeline.js";
import type { Cluster } from "./cluster/cluster.js";
import { RemoteDevices } from "./cluster/remote-devices.js";
import { COUNTED_LIMITS, Limits } from "./limits.js";
import { rtcCensus } from "./rtc/census.js";

export { LOCAL_ACCOUNT } from "./auth/authenticator.js";

/** Where the built web app lives (dist/web, next to dist/server). */
export const WEB_ROOT = fileURLToPath(new URL("../web/", import.meta.url));

/** What createApp returns: a request handler and an upgrade handler for one HTTP server. */
export interface App {
  readonly koa: Koa;
  readonly registry: DeviceRegistry;
  readonly metrics: Metrics;
  readonly log: Logger;
  /** The Node request listener. */
  callback(): ReturnType<Koa["callback"]>;
  /** The HTTP server's 'upgrade' listener; `/ws` is signaling, anything else is refused. */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void;
  /** With a cluster: starts announcing this node, reachable by the other nodes at `url`. */
  joinCluster(url: string): void;
  /** Closes sockets, peers and pipelines (and leaves the cluster). */
  close(): Promise<void>;
}

/** Optional collaborators, for tests. */
export interface AppDeps {
  log?: Logger;
  metrics?: Metrics;
  /** Replaces the authenticator `--auth` would build. */
  authenticator?: Authenticator;
  /** The cluster this node belongs to (`--redis`), connected. */
  cluster?: Cluster;
}

/** How long a closing WebSocket waits for the client's close frame, ms (ws's own default is 30 s, past main's 5 s exit deadline). */
export const SOCKET_CLOSE_TIMEOUT_MS = 1500;

/**
 * The largest WebSocket message any socket reads, bytes: four times a
 * signaling message's cap, or twice the largest frame an ingest socket takes,
 * so that what is somewhat too big gets its `too_large` answer.
 */
export function socketMaxPayload(maxFrameBytes: number): number {
  return Math.max(4 * MAX_MESSAGE_BYTES, 2 * maxFrameBytes);
}

/** Makes sure the data directory exists and can be written; throws ConfigError naming --data-dir with the reason. */
function checkDataDir(dir: string): void {
  try {
    ensureDataDir(dir);
    accessSync(dir, constants.W_OK);
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    const why = e.code === "EROFS" ? "it is on a read-only file system" : e.code === "ENOSPC" ? "its file system is full" : e.message;
    throw new ConfigError("--data-dir", `${dir} cannot be written (${e.code ?? "error"}): ${why}; keys, users and snapshots live there`);
  }
}

/** The device key store under the data directory; throws ConfigError when it cannot be opened. */
function openDeviceKeys(dataDir: string, refused: (reason: KeyRefusal) => void, storageError: (message: string) => void): DeviceKeys {
  try {
    return new DeviceKeys({ dataDir, refused, storageError });
  } catch (err) {
    throw new ConfigError("--data-dir", `cannot open the device key store: ${(err as Error).message}`);
  }
}

/** The snapshot store under the data directory; throws ConfigError naming --data-dir when its folder cannot be made. */
function openSnapshots(dataDir: string, secret: Buffer): SnapshotStore {
  try {
    return new SnapshotStore(dataDir, secret);
  } catch (err) {
    throw new ConfigError("--data-dir", `cannot keep snapshots: ${(err as Error).message}`);
  }
}

/** A secret under the data directory (made on first start); throws ConfigError naming --data-dir when it cannot be read or written. */
function dataDirSecret(dataDir: string, name: string): Buffer {
  try {
    return loadSecret(dataDir, name);
  } catch (err) {
    throw new ConfigError("--data-dir", `cannot keep ${name}: ${(err as Error).message}`);
  }
}

/** The ICE sources of the configuration; throws ConfigError when the servers file cannot be used. */
function iceProvider(config: Config, log: Logger): IceProvider {
  const iceLog = log.child("ice");
  try {
    return new IceProvider({
      stunUris: config.stunUris,
      turnUris: config.turnUris,
      turnSecret: config.turnSecret || undefined,
      turnTtlSeconds: config.turnTtlSeconds,
      serversFile: config.iceServersFile || undefined,
      rest: config.turnRestUrl ? { url: config.turnRestUrl, key: config.turnRestKey } : undefined,
      onError: (message) => iceLog.warn(message),
      onReload: (servers) => iceLog.info("ice servers file reloaded", { servers }),
    });
  } catch (err) {
    throw new ConfigError("--ice-servers-file", (err as Error).message);
  }
}

/** The ICE settings of the server's own peers; throws ConfigError for an unusable --ice-interface. */
function rtcSettings(config: Config, ice: IceProvider): RtcSettings {
  let iceHosts: string[];
  try {
    iceHosts = resolveIceHosts(config.iceHosts, config.iceInterfaces);
  } catch (err) {
    throw new ConfigError("--ice-interface", (err as Error).message);
  }
  return {
    iceHosts,
    get iceServers() {
      return ice.serverPeerServers();
    },
    portRange: config.icePortRange,
    publicIp: config.publicIp || undefined,
    playoutDelay: config.playoutDelay,
  };
}

/** FIREBASE_AUTH_EMULATOR_HOST (host:port) when set: the pages sign in there and their CSP names it. Throws ConfigError when it is no host:port. */
function firebaseEmulatorHost(): string | undefined {
  const host = process.env.FIREBASE_AUTH_EMULATOR_HOST;
  if (!host) return undefined;
  if (!/^(?:[A-Za-z0-9.-]{1,253}|\[[0-9A-Fa-f:]{2,39}\]):\d{1,5}$/.test(host))
    throw new ConfigError("FIREBASE_AUTH_EMULATOR_HOST", `expected host:port, got ${JSON.stringify(host)}`);
  return host;
}

/** Builds the whole server without listening; the entry point (or a test) listens. */
export function createApp(config: Config, deps: AppDeps = {}): App {
  // First: a bad file stops start-up before anything is opened.
  const firebaseWeb = config.firebaseWebConfig ? loadFirebaseWebConfig(config.firebaseWebConfig, config.firebaseProject) : undefined;
  const emulatorHost = firebaseWeb ? firebaseEmulatorHost() : undefined;
  const log = deps.log ?? createLogger(config.logLevel);
  const ownMetrics = deps.metrics === undefined;
  const metrics = deps.metrics ?? new Metrics();
  if (ownMetrics) metrics.startSystemSampling((err) => log.debug("system metrics read failed", { err: String(err) }));
  checkDataDir(config.dataDir);
  const registry = new DeviceRegistry(config.controlIdleSeconds * 1000);
  const limits = new Limits({ node: config.limits, account: config.accountLimits, refused: (name, scope) => metrics.limitRefused(name, scope) });
  /** A pipeline started for viewers of a device counts against its account's and the node's `pipelines` limits. */
  const pipelineLease = (device: { account: string }) => limits.take("pipelines", device.account);
  const ice = iceProvider(config, log);
  const ctx: SessionContext = {
    registry,
    metrics,
    log,
    rtc: rtcSettings(config, ice),
    rtcConfigurationFor: (account) => ice.configuration(account),
    trackSettleMs: 1500,
    inputRate: config.inputRate,
    limits,
    ...(config.transcode === "on"
      ? {
          transcoders: new Transcoders(TRANSCODE_BITRATE_KBPS, metrics, log.child("transcode"), config.maxFrameSize, pipelineLease, () =>
            metrics.pipelineRestarted("transcode"),
          ),
        }
      : {}),
  };
  const cluster = deps.cluster;
  const auth =
    deps.authenticator ??
    authenticatorFor(config, (reason) => metrics.authFailure(reason), log, cluster && { secret: cluster.secrets.session, limits: cluster.loginLimits() });
  const keys = openDeviceKeys(
    config.dataDir,
    (reason) => metrics.authFailure(reason),
    (message) => log.warn(message),
  );
  if (cluster) keys.shareWith(cluster.shareKeys(keys));
  const authenticateDevice = deviceAuthenticator((token) => auth.socket(token), keys);
  /** A relay leg from another node of the cluster acts for the account its token names. */
  const legAccount = (hello: Parameters<Authenticate>[0]) => (cluster && hello.role === "viewer" && hello.token ? cluster.legAccount(hello.token) : undefined);
  const authenticate: Authenticate = async (hello, holder) => {
    if (hello.role === "device" && hello.device) return authenticateDevice(hello, hello.device.id, holder);
    const leg = legAccount(hello);
    return leg !== undefined ? { account: leg, relayLeg: true } : { account: await auth.socket(hello.token) };
  };
  const credentials = (ctx: Koa.Context) => ({ authorization: ctx.get("Authorization") || undefined, address: ctx.request.ip });
  const authConfig = authConfigFor(auth.mode, firebaseWeb, emulatorHost);
  // The server's own devices belong to the one local account, or to --source-account.
  const sourceAccount = auth.mode === "none" ? LOCAL_ACCOUNT : config.sourceAccount || undefined;
  if (!sourceAccount && !config.source.every((s) => s.kind === "none"))
    log.info(`the server's own devices (--source) are not published with --auth ${auth.mode} without --source-account: they would belong to no account`);

  // Behind a reverse proxy, only the proxy's own X-Forwarded-For entry is believed: a client can prepend anything.
  const koa = new Koa({ proxy: config.trustProxy, maxIpsCount: 1 });
  // A client that goes away mid-answer is routine; anything else Koa reports is worth a warning.
  koa.on("error", (err: NodeJS.ErrnoException) => {
    const gone = err.code === "ERR_STREAM_PREMATURE_CLOSE" || err.code === "EPIPE" || err.code === "ECONNRESET";
    if (gone) log.debug("client went away mid-answer", { code: err.code });
    else log.warn("request failed", { err: err.message });
  });
  // The pages talk to Firebase only when they sign in with its SDK.
  koa.use(securityHeaders(firebaseWeb ? firebaseConnectSources(emulatorHost) : [], inlineScriptHashes(WEB_ROOT)));
  koa.use(errorMiddleware(log));
  // Without sign-in, a rebound DNS name must not make another site's pages same-origin with us.
  const ownNames = [config.publicUrl ? new URL(config.publicUrl).hostname : "", config.host].filter(Boolean);
  const hostRefused = () => metrics.authFailure("bad_host");
  if (auth.mode === "none") koa.use(hostGuard(ownNames, hostRefused));
  // No page of another site changes anything here with the browser's ambient credentials (or none).
  koa.use(originGuard(config.allowedOrigins, () => metrics.authFailure("bad_origin")));
  // Another node of the cluster fetching a frame acts for the account its token names.
  koa.use(authMiddleware(auth, keys, cluster && ((token) => cluster.legAccount(token))));
  const api = apiRouter({
    registry,
    metrics,
    log,
    accountOf,
    session: (ctx) => auth.session(accountOf(ctx), credentials(ctx)),
    rtcConfiguration: (account) => ice.configuration(account),
    metricsToken: config.metricsToken,
    authConfig,
    isAdmin: (account) => config.adminAccounts.includes(account) || (auth.mode === "none" && account === LOCAL_ACCOUNT),
    cluster: () =>
      cluster && {
        node: cluster.nodeId,
        redis: cluster.reachable ? "up" : "down",
        nodes: cluster.nodes.map((n) => ({ id: n.id, url: n.url, devices: n.devices, viewers: n.viewers, startedAt: new Date(n.startedAt).toISOString() })),
        legs: remote?.openLegs ?? 0,
      },
    notReady: () => {
      if (closed) return "shutting down";
      return sourceAccount ? localSources?.notReady(registry, sourceAccount) : undefined;
    },
  });
  koa.use(api.routes());
  koa.use(api.allowedMethods());
  const keyApi = keyRouter({ keys, accountOf });
  koa.use(keyApi.routes());
  koa.use(keyApi.allowedMethods());
  const frames = new FrameDevices({
    registry,
    observer: metrics,
    log: log.child("frames"),
    maxSize: config.maxFrameSize,
    count: (result) => metrics.framePushed(result),
    limits,
  });
  // Once per change, whichever transport its viewers use.
  registry.on("created", (device) => device.input.on("control", () => metrics.controlChanged()));
  let grabber: PictureGrabber | undefined;
  /** The latest frame of any device of the account: pushed frames as they are, RTP devices decoded and encoded. */
  const latestJpegOf = async (account: string, id: string, here = false) => {
    const pushed = frames.get(account, id)?.latest;
    if (pushed) return { jpeg: pushed.jpeg, etag: `"f${pushed.seq}"`, width: pushed.width, height: pushed.height };
    const device = registry.get(account, id);
    if (device?.home !== undefined && remote && !here) return remote.latestJpegOf(device);
    if (!device?.online || !device.tracks.some((t) => t.kind === "video")) return undefined;
    grabber ??= new PictureGrabber(fallback);
    return grabber.jpegOf(device);
  };
  const framesApi = framesRouter({ frames, registry, maxFrameBytes: config.maxFrameBytes, accountOf, latestJpegOf });
  koa.use(framesApi.routes());
  koa.use(framesApi.allowedMethods());
  const snapshots = openSnapshots(config.dataDir, cluster?.secrets.snapshot ?? dataDirSecret(config.dataDir, "snapshot-secret"));
  const snapshotApi = snapshotRouter({
    store: snapshots,
    accountOf,
    latestJpegOf,
    publicUrl: config.publicUrl || undefined,
    defaultTtl: config.snapshotTtl,
    maxTtl: config.snapshotMaxTtl,
    refused: (reason) => metrics.authFailure(`snapshot_${reason}`),
    created: () => metrics.snapshotCreated(),
    // A snapshot made on another node (behind one address, any node may be asked for it).
    ...(cluster ? { elsewhere: async (name: string, query: string) => remote?.snapshotElsewhere(name, query) } : {}),
  });
  koa.use(snapshotApi.routes());
  koa.use(snapshotApi.allowedMethods());
  const crossOrigin = { allowedOrigins: config.allowedOrigins, bearerFromAnyOrigin: auth.mode !== "none" };
  const whip = whipRouter({ ctx, accountOf, accountIfKnown, keys, crossOrigin });
  koa.use(whip.routes());
  koa.use(whip.allowedMethods());
  const whep = whepRouter({ ctx, accountOf, accountIfKnown, crossOrigin });
  metrics.collectFrom({
    devicesOnline: () => registry.onlineCount(),
    pipelines: runningPipelines,
    wishSessions: () => ({ whip: whip.sessions(), whep: whep.sessions() }),
    limitsInUse: () => new Map(COUNTED_LIMITS.map((name) => [name, limits.inUse(name)])),
    rtc: rtcCensus,
  });
  koa.use(whep.routes());
  koa.use(whep.allowedMethods());
  // The build writes each page file's `.br` and `.gz` next to it; koa-send picks one by Accept-Encoding, so caches must vary on it.
  koa.use(serve(WEB_ROOT, { index: "index.html", maxage: 0, setHeaders: (res) => res.setHeader("Vary", "Accept-Encoding") }));

  // Messages up to this size are read and answered (too big for /ws: `too_large` and 4413; a frame over
  // --max-frame-bytes on /ws/ingest: `too_large`, the socket stays open); larger ones close the socket with 1009.
  // A client that vanished without a FIN never answers the close at shutdown: its socket is destroyed after closeTimeout.
  // (ws 8.23 takes closeTimeout; @types/ws does not list it.)
  const wss = new WebSocketServer({
    noServer: true,
    maxPayload: socketMaxPayload(config.maxFrameBytes),
    closeTimeout: SOCKET_CLOSE_TIMEOUT_MS,
  } as ServerOptions);
  const stopKeepAlive = keepAlive(wss, config.socketTimeoutSeconds * 1000, () => metrics.socketTimedOut());
  const connections = new Set<SignalingConnection>();
  const fallback = new FallbackHub(
    {
      ...SOURCE_DEFAULTS,
      jpegQuality: config.fallbackQuality,
      paintOverQuality: config.fallbackPaintOverQuality,
      stripeHeight: config.fallbackStripeHeight || undefined,
      maxPicture: config.maxFrameSize,
    },
    log.child("fallback"),
    (device) => frames.get(device.account, device.id),
    pipelineLease,
    () => metrics.pipelineRestarted("decode"),
  );
  const fallbackViewers = new Set<FallbackViewer>();
  const fallbackDeps = {
    metrics,
    log,
    inputRate: config.inputRate,
    maxFps: config.fallbackMaxFps,
    authenticate: async (token: string | undefined) => ({ account: await auth.socket(token) }),
    findDevice: (account: string, id: string) => registry.get(account, id),
    acquire: (device: Parameters<FallbackHub["acquire"]>[0], codec: FallbackCodec, tier: number) => fallback.acquire(device, codec, tier),
    release: (source: Parameters<FallbackHub["release"]>[0]) => fallback.release(source),
    lease: (account: string) => limits.take("fallback-viewers", account),
  };

  const localSources = sourceAccount ? new LocalSources(config, registry, sourceAccount, metrics, log) : undefined;
  const remote = cluster ? new RemoteDevices(cluster, ctx, () => connections.size + fallbackViewers.size) : undefined;
  if (cluster) {
    cluster.observe({ redisError: () => metrics.redisError() });
    metrics.collectFrom({ cluster: () => ({ legs: remote?.openLegs ?? 0, nodes: cluster.nodes.length }) });
  }

  let closed = false;
  return {
    koa,
    registry,
    metrics,
    log,
    callback: () => koa.callback(),
    handleUpgrade: upgradeRouter(
      wss,
      [
        (req) => {
          if (auth.mode === "none" && !hostServedWithoutAuth(req.headers.host, ownNames)) {
            hostRefused();
            return { status: 403, text: HOST_REFUSED };
          }
          return undefined;
        },
        (req) => {
          if (originAllowed(req.headers.origin, req.headers.host, config.allowedOrigins)) return undefined;
          metrics.authFailure("bad_origin");
          return { status: 403, text: "this page's origin may not open Tessera sockets (see --allowed-origins)" };
        },
        () => (closed ? { status: 503, text: "shutting down" } : undefined),
      ],
      [
        {
          path: "/ws",
          open: (ws) => {
            const conn = new SignalingConnection(ws, ctx, authenticate);
            connections.add(conn);
            ws.on("close", () => connections.delete(conn));
          },
        },
        {
          path: "/ws/ingest/:id",
          open: (ws, [deviceId]) => ingestSocket(ws, deviceId, { frames, maxFrameBytes: config.maxFrameBytes, authenticate: authenticateDevice }),
        },
        {
          path: "/ws/stream/:id",
          open: (ws, [deviceId], url) => {
            // What no device can be called is refused as on /ws/ingest, not looked up (nor echoed back).
            if (!ID_PATTERN.test(deviceId)) {
              ws.send(JSON.stringify({ type: "error", code: "bad_request", message: `device ${ID_RULE}` }));
              ws.close(CLOSE_CODES.protocolError, "bad device id");
              return;
            }
            if (url.searchParams.get("mode") === "pull") return pullSocket(ws, deviceId, { authenticate: fallbackDeps.authenticate, latest: latestJpegOf });
            const codec = url.searchParams.get("codec") ?? "jpeg";
            if (!isFallbackCodec(codec)) {
              ws.send(JSON.stringify({ type: "error", code: "bad_request", message: `codec must be jpeg or h264, got '${codec.slice(0, 16)}'` }));
              ws.close(CLOSE_CODES.protocolError, "bad codec");
              return;
            }
            const viewer = new FallbackViewer(ws, deviceId, codec, fallbackDeps);
            fallbackViewers.add(viewer);
            ws.on("close", () => fallbackViewers.delete(viewer));
          },
        },
      ],
    ),
    joinCluster(url) {
      remote?.join(url);
    },
    async close() {
      if (closed) return;
      closed = true;
      stopKeepAlive();
      remote?.close();
      const leaving = cluster?.close();
      for (const c of connections) c.goodbye();
      for (const v of fallbackViewers) v.close(CLOSE_CODES.goingAway, "server shutting down");
      for (const ws of wss.clients) ws.close(CLOSE_CODES.goingAway, "server shutting down");
      whip.close();
      whep.close();
      frames.close();
      snapshots.close();
      keys.close();
      grabber?.close();
      fallback.close();
      ctx.transcoders?.close();
      localSources?.close();
      ice.close();
      if (ownMetrics) metrics.close();
      for (const d of registry.all()) d.removeAllListeners("online");
      await new Promise<void>((resolve) => wss.close(() => resolve()));
      await leaving;
    },
  };
}
