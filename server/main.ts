#!/usr/bin/env node
/** Entry point: parse options, build the app, listen, and shut down cleanly on SIGINT/SIGTERM. */
import { spawn } from "node:child_process";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { createServer as createHttpsServer, type Server as HttpsServer } from "node:https";
import { hostname } from "node:os";
import { ConfigError, loadConfig, type Config } from "./config.js";
import type { Cluster } from "./cluster/cluster.js";
import { nativeFastPathStatus } from "./rtc/native.js";
import { doctorCommand } from "./setup/doctor.js";
import { preflight } from "./setup/preflight.js";
import { readTls, watchTls } from "./tls.js";
import { USAGE } from "./usage.js";
import { usersCommand } from "./auth/users-cli.js";

/**
 * Threads the GStreamer bindings need: each pending appsink pull holds one
 * (the test device 2; a fallback stream 3 for JPEG, 9 for H.264).
 */
const MIN_THREADPOOL = 64;

/** `--display`: names the dashboard and opens it in the desktop's browser when there is a desktop. */
function openDashboard(url: string, log: { info(m: string, f?: object): void; warn(m: string, f?: object): void }): void {
  log.info(`dashboard: ${url}`);
  if (!process.env.DISPLAY && !process.env.WAYLAND_DISPLAY) {
    log.warn("no desktop to open the dashboard on (DISPLAY is not set); open the URL above in a browser");
    return;
  }
  const child = spawn("xdg-open", [url], { stdio: "ignore", detached: true });
  child.on("error", (err) => log.warn("could not open the dashboard", { err: err.message }));
  child.unref();
}

/** With `--redis`: the cluster, connected (its shared secrets read); a Redis that does not answer stops start-up. */
async function joinRedis(config: Config): Promise<Cluster | undefined> {
  if (!config.redis) return undefined;
  const { Cluster, redactUrl } = await import("./cluster/cluster.js");
  const { createLogger } = await import("./log.js");
  const log = createLogger(config.logLevel).child("cluster");
  try {
    return await Cluster.connect(config.redis, log);
  } catch (err) {
    throw new ConfigError("--redis", `cannot join the cluster at ${redactUrl(config.redis)}: ${(err as Error).message}`);
  }
}

/** How other nodes reach a node listening on `host`: a wildcard address becomes this machine's name. */
function reachableHost(host: string): string {
  if (host === "0.0.0.0" || host === "::") return hostname();
  return host.includes(":") ? `[${host}]` : host;
}

async function main(): Promise<void> {
  if (process.argv[2] === "doctor") {
    process.exitCode = doctorCommand();
    return;
  }
  if (process.argv[2] === "agent") {
    try {
      // Loaded only when asked for: it loads werift and the GStreamer addon.
      const { agentCommand } = await import("./agent/cli.js");
      const status = agentCommand(process.argv.slice(3));
      if (status !== undefined) process.exitCode = status;
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
      process.stderr.write(`tessera agent: ${err.message}\n`);
      process.exitCode = 2;
    }
    return;
  }
  if (process.argv[2] === "users") {
    try {
      process.exitCode = await usersCommand(process.argv.slice(3));
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
      process.stderr.write(`tessera: ${err.message}\n`);
      process.exitCode = 2;
    }
    return;
  }
  let config;
  let app;
  let tls: ReturnType<typeof readTls> | undefined;
  try {
    config = loadConfig(process.argv.slice(2));
    if (config === "help") {
      process.stdout.write(USAGE);
      return;
    }
    if (Number(process.env.UV_THREADPOOL_SIZE ?? 4) < MIN_THREADPOOL) {
      process.stderr.write(`tessera: warning: UV_THREADPOOL_SIZE is below ${MIN_THREADPOOL}; media pipelines may stall (npm start sets it)\n`);
    }
    const problems = preflight(config);
    if (problems.length > 0) {
      for (const p of problems) process.stderr.write(`tessera: ${p}\n`);
      process.exit(2);
    }
    tls = config.tlsCert ? readTls(config.tlsCert, config.tlsKey) : undefined;
    // Loaded only now: the app loads the native addons the preflight has just checked.
    const { createApp } = await import("./app.js");
    app = createApp(config, { cluster: await joinRedis(config) });
    if (config.auth === "none" && config.insecureNoAuth) {
      app.log.warn(`!!! --insecure-no-auth: anyone who reaches ${config.host}:${config.port} sees, watches and controls every device, with no sign-in !!!`);
    }
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`tessera: ${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
  // A stray rejection (werift's data channel code throws from an async handler on some
  // SCTP messages a hostile peer can send) must not stop every session: log it, count it, carry on.
  const running = app;
  process.on("unhandledRejection", (reason: unknown) => {
    running.log.error("unhandled promise rejection; the server carries on", { err: reason });
    running.metrics.unhandledRejection();
  });
  const handle = app.callback();
  const onRequest = (req: IncomingMessage, res: ServerResponse) => void handle(req, res);
  // A client that trickles its request (a byte at a time) holds a socket only so long.
  // (Node checks these every connectionsCheckingInterval, 30 s unless told.)
  const timeouts = {
    headersTimeout: Math.round((config.socketTimeoutSeconds * 1000) / 3),
    requestTimeout: config.socketTimeoutSeconds * 1000,
    connectionsCheckingInterval: 1000,
  };
  const server = tls ? createHttpsServer({ ...tls, ...timeouts }, onRequest) : createServer(timeouts, onRequest);
  if (tls) watchTls(server as HttpsServer, config.tlsCert, config.tlsKey, app.log);
  const scheme = tls ? "https" : "http";
  server.on("upgrade", (req, socket, head) => app.handleUpgrade(req, socket, head));
  server.on("error", (err) => {
    app.log.error("cannot listen", { err, host: config.host, port: config.port });
    process.exit(1);
  });
  server.listen(config.port, config.host, () => {
    const addr = server.address();
    const port = typeof addr === "object" && addr ? addr.port : config.port;
    app.log.info(`listening on ${scheme}://${config.host}:${port}/`);
    if (nativeFastPathStatus !== "native")
      app.log.warn("the relay's native fast path is not in use; it runs the TypeScript path", { reason: nativeFastPathStatus });
    if (config.redis) app.joinCluster(config.nodeUrl || `${scheme}://${reachableHost(config.host)}:${port}`);
    if (config.display) openDashboard(`${scheme}://${config.host}:${port}/grid.html`, app.log);
  });

  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    app.log.info("shutting down", { signal });
    const force = setTimeout(() => process.exit(1), 5000);
    force.unref();
    app
      .close()
      .then(() => new Promise<void>((resolve) => server.close(() => resolve())))
      .then(() => process.exit(0))
      .catch((err: unknown) => {
        app.log.error("shutdown failed", { err });
        process.exit(1);
      });
    server.closeAllConnections();
  };
  process.on("SIGINT", () => stop("SIGINT"));
  process.on("SIGTERM", () => stop("SIGTERM"));
}

main().catch((err: unknown) => {
  process.stderr.write(`tessera: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
