/**
 * Drives Firefox ESR from inside a network namespace, for e2e tests running
 * in the root namespace (see e2e/lib/firefox.ts, which spawns this file with
 * `ip netns exec NS node …`).
 *
 * Why a separate process: puppeteer talks WebDriver BiDi to Firefox over a
 * WebSocket on 127.0.0.1 — the namespace's own loopback, unreachable from the
 * root namespace. So this process, inside the namespace, owns the browser and
 * answers requests from the test, one JSON object per line:
 *   stdin:  { id, op: "open", url, label, probe? } → { page }
 *           { id, op: "eval", page, expr }          → the expression's value (promises awaited)
 *           { id, op: "close", page }
 *           { id, op: "logs" }                      → page console lines so far
 *           { id, op: "quit" }                      → closes Firefox, then this process exits
 *   stdout: { ready: true, version } once Firefox runs; then { id, ok: true, value } | { id, ok: false, error }
 * Anything else goes to stderr. Closing stdin also closes Firefox and exits.
 */
import { createInterface } from "node:readline";
import puppeteer, { type Browser, type BrowserContext, type Page } from "puppeteer-core";
import { installProbe, type ProbeOptions } from "../probes.js";

const FIREFOX_PATH = process.env.TESSERA_FIREFOX ?? "/usr/bin/firefox-esr";

/** Fake media, WebRTC without mDNS obfuscation, autoplay, and nothing that phones home. */
export const FIREFOX_PREFS: Record<string, unknown> = {
  "media.navigator.streams.fake": true,
  "media.navigator.permission.disabled": true,
  "media.peerconnection.ice.obfuscate_host_addresses": false,
  "media.autoplay.default": 0,
  // The driver clicks by script, which is no user gesture: let such clicks ask for fullscreen.
  "full-screen-api.allow-trusted-requests-only": false,
  // The server is http://10.99.0.1:PORT: getUserMedia needs a secure context.
  "dom.securecontext.allowlist": "10.99.0.1",
  // No phoning home (puppeteer's profile already turns most of this off).
  "app.update.enabled": false,
  "app.update.auto": false,
  "app.normandy.enabled": false,
  "browser.shell.checkDefaultBrowser": false,
  "browser.safebrowsing.malware.enabled": false,
  "browser.safebrowsing.phishing.enabled": false,
  "browser.safebrowsing.downloads.enabled": false,
  "browser.safebrowsing.downloads.remote.enabled": false,
  "browser.safebrowsing.blockedURIs.enabled": false,
  "browser.safebrowsing.provider.google4.updateURL": "",
  "browser.safebrowsing.provider.mozilla.updateURL": "",
  "browser.ping-centre.telemetry": false,
  "browser.region.network.url": "",
  "browser.region.update.enabled": false,
  "datareporting.policy.dataSubmissionEnabled": false,
  "datareporting.healthreport.uploadEnabled": false,
  "toolkit.telemetry.enabled": false,
  "toolkit.telemetry.unified": false,
  "toolkit.telemetry.server": "",
  "toolkit.telemetry.archive.enabled": false,
  "network.captive-portal-service.enabled": false,
  "network.connectivity-service.enabled": false,
  "network.trr.mode": 5,
  "network.dns.disablePrefetch": true,
  "network.prefetch-next": false,
  "geo.provider.network.url": "",
  "services.settings.server": "",
  "extensions.getAddons.cache.enabled": false,
  "media.gmp-manager.url": "",
  "media.gmp-gmpopenh264.autoupdate": false,
  "media.gmp-gmpopenh264.enabled": false,
};

interface Request {
  id: number;
  op: "open" | "eval" | "close" | "logs" | "quit";
  url?: string;
  label?: string;
  probe?: ProbeOptions;
  page?: number;
  expr?: string;
}

const out = (msg: unknown) => process.stdout.write(JSON.stringify(msg) + "\n");
const log = (line: string) => process.stderr.write(`[firefox-driver] ${line}\n`);

const pages = new Map<number, { page: Page; context: BrowserContext }>();
const consoleLines: string[] = [];
let nextPage = 1;
let browser: Browser | undefined;
let quitting: Promise<void> | undefined;

async function open(url: string, label: string, probe: ProbeOptions | undefined): Promise<{ page: number }> {
  if (!browser) throw new Error("Firefox is not running");
  // A context (user context) per page, like the Chromium tests; a window each, so no page is a hidden background tab.
  const context = await browser.createBrowserContext();
  const page = await context.newPage({ type: "window" });
  const id = nextPage++;
  pages.set(id, { page, context });
  page.on("console", (m) => consoleLines.push(`[${label}] ${m.type()}: ${m.text()}`));
  page.on("pageerror", (err) => consoleLines.push(`[${label}] pageerror: ${err instanceof Error ? err.message : String(err)}`));
  if (probe) await page.evaluateOnNewDocument(installProbe, probe);
  await page.goto(url, { waitUntil: "load" });
  return { page: id };
}

function pageOf(id: number | undefined): Page {
  const entry = id === undefined ? undefined : pages.get(id);
  if (!entry) throw new Error(`no page ${id}`);
  return entry.page;
}

async function handle(req: Request): Promise<unknown> {
  switch (req.op) {
    case "open":
      return open(req.url ?? "about:blank", req.label ?? "page", req.probe);
    case "eval":
      // The expression's value must be JSON; promises are awaited.
      return pageOf(req.page).evaluate(req.expr ?? "undefined");
    case "close": {
      const entry = req.page === undefined ? undefined : pages.get(req.page);
      pages.delete(req.page ?? -1);
      await entry?.context.close().catch(() => undefined);
      return null;
    }
    case "logs":
      return [...consoleLines];
    case "quit":
      await quit();
      return null;
  }
}

function quit(): Promise<void> {
  quitting ??= (async () => {
    const b = browser;
    browser = undefined;
    if (!b) return;
    const timer = setTimeout(() => b.process()?.kill("SIGKILL"), 5000);
    await b.close().catch((err: unknown) => log(`close: ${String(err)}`));
    clearTimeout(timer);
    b.process()?.kill("SIGKILL"); // in case close() left it running
  })();
  return quitting;
}

async function main(): Promise<void> {
  const t0 = Date.now();
  browser = await puppeteer.launch({
    browser: "firefox",
    executablePath: FIREFOX_PATH,
    headless: true,
    extraPrefsFirefox: FIREFOX_PREFS,
    defaultViewport: { width: 1000, height: 640 },
    // This process handles its own signals: close Firefox, then exit.
    handleSIGINT: false,
    handleSIGTERM: false,
    handleSIGHUP: false,
    dumpio: process.env.TESSERA_FIREFOX_DUMPIO === "1",
  });
  out({ ready: true, version: await browser.version(), pid: browser.process()?.pid, launchMs: Date.now() - t0 });
  const lines = createInterface({ input: process.stdin });
  lines.on("line", (line) => {
    if (!line.trim()) return;
    let req: Request;
    try {
      req = JSON.parse(line) as Request;
    } catch {
      log(`bad request: ${line}`);
      return;
    }
    handle(req).then(
      (value) => {
        out({ id: req.id, ok: true, value: value ?? null });
        if (req.op === "quit") process.exit(0);
      },
      (err: unknown) => out({ id: req.id, ok: false, error: err instanceof Error ? err.message : String(err) }),
    );
  });
  lines.on("close", () => void quit().then(() => process.exit(0)));
}

for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
  process.on(signal, () => void quit().then(() => process.exit(0)));
}
main().catch(async (err: unknown) => {
  log(`cannot start Firefox: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
  await quit();
  process.exit(1);
});
