import { mkdtempSync, rmSync } from "node:fs";
import { createServer, request, type IncomingHttpHeaders, type Server } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { AddressInfo } from "node:net";
import { createApp, type App, type AppDeps } from "../app.js";
import { DEFAULTS, type Config } from "../config.js";
import { createLogger } from "../log.js";

/** A real app on a free loopback port, with its peers' ICE pinned to loopback. */
export interface Running {
  app: App;
  server: Server;
  wsUrl: string;
  httpUrl: string;
  stop(): Promise<void>;
}

/** Starts createApp on 127.0.0.1:0. */
export async function startServer(overrides: Partial<Config> = {}, deps: AppDeps = {}): Promise<Running> {
  // A private data dir per server unless the test names one: snapshots and secrets never land in the checkout.
  const ownDataDir = overrides.dataDir === undefined ? mkdtempSync(join(tmpdir(), "tessera-data-")) : undefined;
  const config: Config = Object.freeze({
    ...DEFAULTS,
    source: [{ kind: "none" as const }],
    iceHosts: ["127.0.0.1"],
    port: 0,
    ...(ownDataDir ? { dataDir: ownDataDir } : {}),
    ...overrides,
  });
  const app = createApp(config, { log: createLogger(process.env.TESSERA_TEST_LOG === "1" ? "debug" : "error"), ...deps });
  const handle = app.callback();
  const server = createServer((req, res) => void handle(req, res));
  server.on("upgrade", (req, socket, head) => app.handleUpgrade(req, socket, head));
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    app,
    server,
    wsUrl: `ws://127.0.0.1:${port}/ws`,
    httpUrl: `http://127.0.0.1:${port}`,
    async stop() {
      await app.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      if (ownDataDir) rmSync(ownDataDir, { recursive: true, force: true });
    },
  };
}

/**
 * One HTTP request exactly as given, with what fetch() will not send: any Host, a path left as written (`path`, else
 * the URL's), no Accept-Encoding of its own. The answer's body comes as it was sent, undecoded.
 */
export function rawRequest(
  url: string,
  { path, method = "GET", headers = {} }: { path?: string; method?: string; headers?: Record<string, string> } = {},
): Promise<{ status: number; headers: IncomingHttpHeaders; body: Buffer }> {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const req = request({ host: u.hostname, port: u.port, path: path ?? `${u.pathname}${u.search}`, method, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on("error", reject);
    });
    req.on("error", reject);
    req.end();
  });
}
