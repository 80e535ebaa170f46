/**
 * Shared e2e plumbing: a real server child process, one Chromium per test
 * file, pages with frame probes, and polling waits (never fixed sleeps).
 */
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { after, before, type TestContext } from "node:test";
import { chromium, type Browser, type BrowserContext, type Page } from "playwright-core";
import { installProbe, readDevice, readProbe, readViewer, type DeviceView, type ProbeState, type ViewerView } from "./probes.js";
import { serverMallocTunables } from "../server/setup/malloc.js";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const SERVER_MAIN = `${ROOT}dist/server/main.js`;
/** Chromium from the system; never a downloaded one. */
export const CHROMIUM_PATH = process.env.TESSERA_CHROMIUM ?? "/usr/bin/chromium";
export const CHROMIUM_ARGS = [
  "--no-sandbox",
  "--disable-gpu",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--no-first-run",
  "--use-fake-device-for-media-stream",
  "--use-fake-ui-for-media-stream",
  "--allow-loopback-in-peer-connection",
  "--disable-features=WebRtcHideLocalIpsWithMdns",
];
const SERVER_START_TIMEOUT_MS = 15_000;
const LOG_TAIL_LINES = 40;

/** A server child process listening on an ephemeral port. */
export interface TestServer {
  readonly url: string;
  /** Every stderr/stdout line so far (for failure reports). */
  readonly logs: string[];
  /**
   * Stops the server (SIGTERM: graceful; SIGKILL: a crash) and waits for it
   * to exit, killing it after `killAfterMs` (default 3 s); resolves with how
   * it exited and how long that took.
   */
  close(signal?: NodeJS.Signals, killAfterMs?: number): Promise<ServerExit>;
}

/** How a server process ended. */
export interface ServerExit {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** From the stop signal to the exit, ms (0 when it had already exited). */
  ms: number;
}

/**
 * Starts `dist/server/main.js --port 0 --ice-host 127.0.0.1` (or a given port
 * and ICE host) and waits for its "listening" line. `wrap` prefixes the
 * command (e.g. `ip netns exec NS`; it must exec, so the child's pid stays the server's);
 * `env` adds to the server's environment (e.g. FIREBASE_AUTH_EMULATOR_HOST).
 */
export async function startServer({ port = 0, args = [] as string[], iceHost = "127.0.0.1", wrap = [] as string[], env = {} } = {}): Promise<TestServer> {
  if (!existsSync(SERVER_MAIN)) throw new Error(`${SERVER_MAIN} is missing; run node scripts/build.mjs first`);
  // The fallback's x264 stripe pipelines each hold threadpool threads (npm start gives 128).
  // A private data dir (secrets, snapshots) unless the test names one.
  const dataDir = args.includes("--data-dir") ? undefined : mkdtempSync(join(tmpdir(), "tessera-e2e-data-"));
  const command = [...wrap, process.execPath, SERVER_MAIN, "--port", String(port), "--ice-host", iceHost, ...(dataDir ? ["--data-dir", dataDir] : []), ...args];
  const child = spawn(command[0], command.slice(1), {
    cwd: ROOT,
    env: { GLIBC_TUNABLES: serverMallocTunables(), ...process.env, UV_THREADPOOL_SIZE: "128", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const killOnExit = () => child.kill("SIGKILL");
  process.once("exit", killOnExit);
  const logs: string[] = [];
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => fail(new Error("server did not report 'listening' in time")), SERVER_START_TIMEOUT_MS);
    const fail = (err: Error) => {
      clearTimeout(timer);
      child.kill("SIGKILL");
      reject(new Error(`${err.message}\n${logs.join("\n")}`));
    };
    const onLine = (line: string) => {
      logs.push(line);
      const m = /listening on (http:\/\/[^/\s]+\/)/.exec(line);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    };
    for (const stream of [child.stdout, child.stderr]) {
      let buffered = "";
      stream?.setEncoding("utf8").on("data", (chunk: string) => {
        buffered += chunk;
        const lines = buffered.split("\n");
        buffered = lines.pop() ?? "";
        lines.forEach(onLine);
      });
    }
    child.once("exit", (code, signal) => fail(new Error(`server exited early (code ${code}, signal ${signal})`)));
  });
  return {
    url,
    logs,
    close: async (signal: NodeJS.Signals = "SIGTERM", killAfterMs = 3000) => {
      process.off("exit", killOnExit);
      const exit = await stopChild(child, signal, killAfterMs);
      if (dataDir) rmSync(dataDir, { recursive: true, force: true });
      return exit;
    },
  };
}

async function stopChild(child: ChildProcess, signal: NodeJS.Signals, killAfterMs: number): Promise<ServerExit> {
  if (child.exitCode !== null || child.signalCode !== null) return { code: child.exitCode, signal: child.signalCode, ms: 0 };
  const t0 = performance.now();
  const exited = new Promise<ServerExit>((resolve) => child.once("exit", (code, sig) => resolve({ code, signal: sig, ms: performance.now() - t0 })));
  child.kill(signal);
  const timer = setTimeout(() => child.kill("SIGKILL"), killAfterMs);
  const exit = await exited;
  clearTimeout(timer);
  return exit;
}

/**
 * Launches the system Chromium with fake media devices and loopback WebRTC.
 * `wrap` (e.g. `ip netns exec NS`) runs it inside a network namespace:
 * Playwright drives it over a pipe, so a wrapper script is all it takes.
 * `extraArgs` go after the usual flags; an `--enable-features=X` among them
 * drops the usual `--disable-features=X`.
 */
export async function launchBrowser(wrap: readonly string[] = [], extraArgs: readonly string[] = []): Promise<Browser> {
  const enabled = extraArgs.filter((a) => a.startsWith("--enable-features=")).map((a) => a.replace("--enable-features=", "--disable-features="));
  const args = [...CHROMIUM_ARGS.filter((a) => !enabled.includes(a)), ...extraArgs];
  if (wrap.length === 0) return chromium.launch({ executablePath: CHROMIUM_PATH, args });
  const dir = mkdtempSync(join(tmpdir(), "tessera-chromium-"));
  const wrapper = join(dir, "chromium");
  writeFileSync(wrapper, `#!/bin/sh\nexec ${wrap.join(" ")} ${CHROMIUM_PATH} "$@"\n`, { mode: 0o755 });
  try {
    const browser = await chromium.launch({ executablePath: wrapper, args });
    browser.on("disconnected", () => rmSync(dir, { recursive: true, force: true }));
    return browser;
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
}

/** Polls `probe` until it returns a value other than undefined/false/null; throws after `timeoutMs`. */
export async function waitFor<T>(
  what: string,
  probe: () => Promise<T | undefined | null | false> | T | undefined | null | false,
  { timeoutMs = 10_000, intervalMs = 100 } = {},
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined && value !== null && value !== false) return value;
    } catch (err) {
      lastError = err; // e.g. the page is navigating; try again
    }
    if (Date.now() >= deadline) {
      const cause = lastError instanceof Error ? ` (last error: ${lastError.message.split("\n")[0]})` : "";
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${cause}`);
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

/** The server and browser one test file shares. */
export interface Env {
  server: TestServer;
  browser: Browser;
}

/** Where a file's server and browser run when not here: entered before they start (the command prefix that runs a program there), left after they stop. */
export interface EnvPlace {
  enter(): Promise<readonly string[]>;
  leave(): Promise<void>;
}

/**
 * Registers before/after hooks that start and stop one server and one browser
 * for the file, inside `place` when given (e.g. a network namespace). One
 * hook each way: node runs a file's top-level hooks without waiting for one another.
 */
export function useEnv(serverArgs: () => Promise<string[]> | string[] = () => [], place?: EnvPlace): () => Env {
  let env: Env | undefined;
  before(async () => {
    const wrap = place ? await place.enter() : [];
    const server = await startServer({ args: await serverArgs(), wrap: [...wrap] });
    try {
      env = { server, browser: await launchBrowser(wrap) };
    } catch (err) {
      await server.close();
      throw err;
    }
  });
  after(async () => {
    await env?.browser.close().catch(() => undefined);
    await env?.server.close();
    await place?.leave();
  });
  return () => {
    if (!env) throw new Error("the e2e environment did not start");
    return env;
  };
}

/** Opens pages for one test, closes them afterwards, and reports their consoles if the test fails. */
export class Pages {
  private readonly contexts: BrowserContext[] = [];
  private readonly consoleLines: string[] = [];

  constructor(private readonly env: Env) {}

  /**
   * A viewer page at `/?device=ID` (or `/`) plus any `extra` query parameters, with the frame probe installed.
   * WebRTC only unless `extra.transport` says otherwise: the probe counts video frames, and on a loaded
   * 2-core machine a connection now and then takes longer than the app's 4 s before its automatic
   * fallback; that fallback is tested on its own (fallback.test.ts passes `transport: "auto"`).
   */
  async viewer(
    deviceId?: string,
    label = "viewer",
    extra: Record<string, string> = {},
    screen: Screen = DESKTOP,
    /** Scripts run in the page before its own, in order. */
    initScripts: readonly string[] = [],
  ): Promise<Page> {
    const page = await this.newPage(
      label,
      {
        video: "#video",
        watch: ["#player", "body"],
        attributes: ["data-device-state", "data-connection-state", "data-signaling"],
      },
      screen,
    );
    for (const content of initScripts) await page.addInitScript({ content });
    const params = new URLSearchParams({ ...(deviceId ? { device: deviceId } : {}), transport: "webrtc", ...extra });
    const query = params.toString();
    await page.goto(this.env.server.url + (query ? `?${query}` : ""));
    return page;
  }

  /** A device page publishing the fake camera as `id`; `fragment` (e.g. `key=tk_…`) goes after `#`. */
  async device(id: string, name: string, label = "device", fragment = "", extra: Record<string, string> = {}): Promise<Page> {
    const page = await this.newPage(label, { video: "#preview", watch: ["body"], attributes: ["data-state", "data-connection-state"] });
    // One layer unless a test asks for simulcast: three encoders per device page are a lot for 2 cores beside the rest.
    const params = new URLSearchParams({ id, name, source: "camera", autostart: "1", simulcast: "0", ...extra });
    await page.goto(`${this.env.server.url}device.html?${params.toString()}${fragment ? `#${fragment}` : ""}`);
    return page;
  }

  /** The dashboard, `/grid.html`. */
  async grid(label = "grid"): Promise<Page> {
    const page = await this.newPage(label, { video: "#none", watch: ["body"], attributes: [] });
    await page.goto(`${this.env.server.url}grid.html`);
    return page;
  }

  /** Closes every page this helper opened. */
  async close(): Promise<void> {
    await Promise.all(this.contexts.splice(0).map((c) => c.close().catch(() => undefined)));
  }

  /** Page console lines and the server log tail, for a failure report. */
  report(): string {
    return [
      "--- page consoles ---",
      ...this.consoleLines.slice(-LOG_TAIL_LINES),
      "--- server log (tail) ---",
      ...this.env.server.logs.slice(-LOG_TAIL_LINES),
    ].join("\n");
  }

  private async newPage(label: string, probe: Parameters<typeof installProbe>[0], screen: Screen = DESKTOP): Promise<Page> {
    const context = await this.env.browser.newContext(screen);
    this.contexts.push(context);
    const page = await context.newPage();
    page.on("console", (m) => this.consoleLines.push(`[${label}] ${m.type()}: ${m.text()}`));
    page.on("pageerror", (err) => this.consoleLines.push(`[${label}] pageerror: ${err.message}`));
    await page.addInitScript(installProbe, probe);
    return page;
  }
}

/** A browser window's size and kind, as Playwright's context options. */
export interface Screen {
  viewport: { width: number; height: number };
  hasTouch?: boolean;
  isMobile?: boolean;
}
/** The pages' default window: a laptop's. */
export const DESKTOP: Screen = { viewport: { width: 1280, height: 800 } };
/** A phone held upright, with touch. */
export const PHONE: Screen = { viewport: { width: 390, height: 844 }, hasTouch: true, isMobile: true };

/** Runs a test body with its own Pages; on failure the consoles and server log are attached as diagnostics. */
export async function withPages(t: TestContext, env: Env, body: (pages: Pages) => Promise<void>): Promise<void> {
  const pages = new Pages(env);
  try {
    await body(pages);
  } catch (err) {
    for (const line of pages.report().split("\n")) t.diagnostic(line);
    throw err;
  } finally {
    await pages.close();
  }
}

/** The frame probe's state. */
export async function probe(page: Page): Promise<ProbeState> {
  const state = await page.evaluate(readProbe);
  if (!state) throw new Error("the frame probe is not installed on this page");
  return state;
}

export const viewerState = (page: Page): Promise<ViewerView> => page.evaluate(readViewer);
export const deviceState = (page: Page): Promise<DeviceView> => page.evaluate(readDevice);

/**
 * Waits until the page's <video> presents `count` more frames than it had
 * when called, and returns how long that took (ms) and the frame size.
 */
export async function framesAdvance(page: Page, count: number, timeoutMs = 10_000): Promise<{ ms: number; width: number; height: number }> {
  const start = (await probe(page)).frames;
  const t0 = Date.now();
  const state = await waitFor(
    `${count} new video frames (had ${start})`,
    async () => {
      const p = await probe(page);
      return p.frames >= start + count ? p : undefined;
    },
    { timeoutMs },
  );
  return { ms: Date.now() - t0, width: state.width, height: state.height };
}

/** Waits for the device page to report an established publishing connection. */
export function devicePublishing(page: Page, timeoutMs = 15_000): Promise<DeviceView> {
  return waitFor(
    "the device page to publish",
    async () => {
      const d = await deviceState(page);
      return d.state === "publishing" && d.connectionState === "connected" ? d : undefined;
    },
    { timeoutMs },
  );
}

/** The sum of the samples of `name` in a /metrics text whose labels include all of `labels` (0 when none). */
export function sumMetric(text: string, name: string, labels: Record<string, string>): number {
  let total = 0;
  for (const line of text.split("\n")) {
    const m = /^([a-z_:][a-z0-9_:]*)(?:\{([^}]*)\})? (\S+)$/i.exec(line);
    if (!m || m[1] !== name) continue;
    const have = Object.fromEntries([...(m[2] ?? "").matchAll(/(\w+)="([^"]*)"/g)].map((l) => [l[1], l[2]]));
    if (Object.entries(labels).every(([k, v]) => have[k] === v)) total += Number(m[3]);
  }
  return total;
}

/** The value of one Prometheus sample from the server's /metrics, 0 when absent; `labels` must all match. */
export async function readMetric(server: TestServer, name: string, labels: Record<string, string> = {}): Promise<number> {
  return sumMetric(await (await fetch(`${server.url}metrics`)).text(), name, labels);
}

/** As readMetric, fetched by a page of the server's: for a server in a network namespace the test process cannot reach. */
export async function readMetricFromPage(page: Page, name: string, labels: Record<string, string> = {}): Promise<number> {
  return sumMetric(await page.evaluate(async () => (await fetch("/metrics")).text()), name, labels);
}

/** In the page: a cheap hash of the canvas pixels (every 7th byte), and its size. */
function canvasHash(): { hash: number; width: number; height: number } {
  type Canvas = {
    width: number;
    height: number;
    getContext(k: string): { getImageData(x: number, y: number, w: number, h: number): { data: Uint8ClampedArray } };
  };
  const c = (globalThis as unknown as { document: { querySelector(s: string): Canvas } }).document.querySelector("#canvas");
  if (c.width === 0 || c.height === 0) return { hash: 0, width: 0, height: 0 };
  const data = c.getContext("2d").getImageData(0, 0, c.width, c.height).data;
  let h = 0;
  for (let i = 0; i < data.length; i += 7) h = (h * 31 + data[i]) >>> 0;
  return { hash: h, width: c.width, height: c.height };
}

/** Waits until the canvas shows a picture, then until its pixels change: the picture moves. */
export async function canvasMoves(page: Page, timeoutMs = 10_000): Promise<{ width: number; height: number }> {
  const first = await waitFor(
    "a picture on the canvas",
    async () => {
      const h = await page.evaluate(canvasHash);
      return h.width > 0 && (await viewerState(page)).fallback?.framesPainted ? h : undefined;
    },
    { timeoutMs },
  );
  await waitFor("the canvas pixels to change", async () => (await page.evaluate(canvasHash)).hash !== first.hash, { timeoutMs });
  return first;
}
