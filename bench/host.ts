/**
 * Host mode: glass-to-glass delay and server CPU for a captured X display.
 *
 * A private Xvfb display (1920×1080 by default) is captured by a server
 * child (`--source x11:N --source-encoder software`), once per codec. A
 * window of ours on the display changes colour; the time of each change is
 * taken right before the X request, and Chromium's viewer notes when a frame
 * with the new colour is presented (requestVideoFrameCallback for WebRTC,
 * each painted canvas frame for the JPEG fallback). Both clocks are this
 * machine's. Then a moving picture (GStreamer videotestsrc into ximagesink)
 * covers the display and the server's CPU is read from /proc while one
 * WebRTC viewer watches.
 *
 *   npm run bench:host -- --seconds 15 --flips 30 [--size 1920x1080] [--codecs vp8,h264]
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import type { Browser, Page } from "playwright-core";
import x11 from "x11";
import type { XClient } from "x11";
import { launchBrowser, waitFor } from "../e2e/harness.js";
import { startXvfb, type TestDisplay } from "../e2e/lib/xvfb.js";
import { exitBounded } from "./exit.js";
import { clockTicksPerSecond, machineInfo, processCpuSeconds } from "./proc.js";
import { parseMetrics, sumOf } from "./prom.js";
import { ServerProcess } from "./server-process.js";

const { values } = parseArgs({
  options: {
    seconds: { type: "string", default: "15" },
    flips: { type: "string", default: "30" },
    size: { type: "string", default: "1920x1080" },
    codecs: { type: "string", default: "vp8,h264" },
  },
});
const seconds = Number(values.seconds);
const flips = Number(values.flips);
const [width, height] = values.size.split("x").map(Number);
if (!(seconds >= 3 && seconds <= 120)) throw new Error("--seconds: expected 3-120");
if (!(flips >= 5 && flips <= 200)) throw new Error("--flips: expected 5-200");
if (!(width >= 320 && height >= 240 && width <= 3840 && height <= 2160)) throw new Error("--size: expected WxH within 320x240-3840x2160");
const codecs = values.codecs.split(",").map((c) => {
  if (c !== "vp8" && c !== "h264") throw new Error("--codecs: expected a comma list of vp8 and h264");
  return c;
});
const TICKS = clockTicksPerSecond();
const PALETTE = [0xff0000, 0x00ff00, 0x0000ff, 0xffff00, 0xff00ff, 0x00ffff];
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.floor(s.length / 2)] : NaN;
};
const p90 = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.min(s.length - 1, Math.floor(s.length * 0.9))] : NaN;
};

/** A full-screen window of our own whose colour we set, timing each change right before its X request. */
class ColourWindow {
  private constructor(
    private readonly X: XClient,
    private readonly wid: number,
  ) {}

  static open(display: string): Promise<ColourWindow> {
    return new Promise((resolve, reject) => {
      const X = x11.createClient({ display, shm: false }, (err, d) => {
        if (err) return reject(err);
        const root = d.screen[0].root;
        const wid = X.AllocID();
        // Override-redirect: no window manager is asked, the window is where it says.
        X.CreateWindow(wid, root, 0, 0, width, height, 0, 0, 0, 0, { backgroundPixel: 0, overrideRedirect: 1 });
        X.MapWindow(wid);
        X.sync().then(
          () => resolve(new ColourWindow(X, wid)),
          (e: Error) => reject(e),
        );
      });
      X.on("error", () => {});
    });
  }

  /** Paints the window `rgb` and returns the time (ms, Date.now() clock) the request left. */
  async paint(rgb: number): Promise<number> {
    this.X.ChangeWindowAttributes(this.wid, { backgroundPixel: rgb });
    // ClearArea(window, x, y, width 0, height 0 = to the edges, exposures): repaints with the new background.
    (this.X as unknown as { ClearArea(w: number, x: number, y: number, width: number, height: number, exposures: number): void }).ClearArea(
      this.wid,
      0,
      0,
      0,
      0,
      0,
    );
    const at = performance.timeOrigin + performance.now();
    // A round trip: the server has drawn it when the reply comes.
    await this.X.sync();
    return at;
  }

  close(): void {
    this.X.terminate();
  }
}

/** In the page: records when each presented frame's centre colour changes (ms, Date.now() clock). */
function watchColours(selector: string): void {
  type Drawable = { videoWidth?: number; videoHeight?: number; width: number; height: number; requestVideoFrameCallback?: (cb: () => void) => void };
  const g = globalThis as unknown as {
    __seen: Array<{ rgb: number[]; at: number }>;
    document: { querySelector(s: string): Drawable; createElement(t: string): unknown };
    requestAnimationFrame(cb: () => void): void;
    performance: { timeOrigin: number; now(): number };
  };
  g.__seen = [];
  const canvas = g.document.createElement("canvas") as {
    width: number;
    height: number;
    getContext(
      k: string,
      o?: object,
    ): {
      drawImage(e: unknown, x: number, y: number, w: number, h: number): void;
      getImageData(x: number, y: number, w: number, h: number): { data: Uint8ClampedArray };
    };
  };
  canvas.width = 1;
  canvas.height = 1;
  const ctx = canvas.getContext("2d", { willReadFrequently: true });
  let last = "";
  const sample = () => {
    const el = g.document.querySelector(selector);
    const w = el.videoWidth ?? el.width;
    const h = el.videoHeight ?? el.height;
    if (w && h) {
      ctx.drawImage(el, -Math.floor(w / 2), -Math.floor(h / 2), w, h);
      const d = ctx.getImageData(0, 0, 1, 1).data;
      const key = `${d[0] >> 5},${d[1] >> 5},${d[2] >> 5}`;
      if (key !== last) {
        last = key;
        g.__seen.push({ rgb: [d[0], d[1], d[2]], at: g.performance.timeOrigin + g.performance.now() });
      }
    }
    const video = el;
    if (video.requestVideoFrameCallback) video.requestVideoFrameCallback(sample);
    else g.requestAnimationFrame(sample);
  };
  sample();
}

const seenSince = (page: Page, from: number) =>
  page.evaluate((n) => (globalThis as unknown as { __seen: Array<{ rgb: number[]; at: number }> }).__seen.slice(n), from);
const near = (rgb: number[], want: number) => [16, 8, 0].every((shift, i) => Math.abs(rgb[i] - ((want >> shift) & 0xff)) <= 48);

/** Flips the window's colour `flips` times; each flip's delay until the page presents it. */
async function glassToGlass(page: Page, win: ColourWindow): Promise<number[]> {
  const delays: number[] = [];
  for (let i = 0; i < flips; i++) {
    const colour = PALETTE[i % PALETTE.length];
    const mark = (await seenSince(page, 0)).length;
    const paintedAt = await win.paint(colour);
    const seen = await waitFor(`colour ${colour.toString(16)} in the viewer`, async () => (await seenSince(page, mark)).find((s) => near(s.rgb, colour)), {
      timeoutMs: 10_000,
      intervalMs: 5,
    });
    delays.push(seen.at - paintedAt);
    await sleep(150 + Math.random() * 150);
  }
  return delays;
}

interface Row {
  codec: string;
  webrtcP50: number;
  webrtcP90: number;
  fallbackP50: number;
  fallbackP90: number;
  cpuPct: number;
  cpuStillPct: number;
  kbps: number;
  fps: number;
}

async function measure(display: TestDisplay, browser: Browser, codec: "vp8" | "h264"): Promise<Row> {
  const dataDir = mkdtempSync(join(tmpdir(), "tessera-bench-host-"));
  const server = await ServerProcess.start(
    [
      "--port",
      "0",
      "--ice-host",
      "127.0.0.1",
      "--data-dir",
      dataDir,
      "--source",
      `x11:${display.display}`,
      "--source-codec",
      codec,
      "--source-encoder",
      "software",
    ],
    { ...process.env, UV_THREADPOOL_SIZE: "128" },
  );
  const device = `x11-${display.display.slice(1)}`;
  const win = await ColourWindow.open(display.display);
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  let motion: ChildProcess | undefined;
  try {
    const rtc = await context.newPage();
    await rtc.goto(`${server.httpUrl}/?device=${device}&transport=webrtc`);
    await waitFor(
      "WebRTC video",
      () =>
        rtc.evaluate(
          () => (globalThis as unknown as { document: { querySelector(s: string): { videoWidth: number } } }).document.querySelector("#video").videoWidth > 0,
        ),
      {
        timeoutMs: 20_000,
      },
    );
    await rtc.evaluate(watchColours, "#video");
    const webrtc = await glassToGlass(rtc, win);

    // The still desktop with one WebRTC viewer: what an idle screen costs.
    const still0 = processCpuSeconds(server.pid, TICKS);
    const stillT0 = performance.now();
    await sleep(seconds * 500);
    const cpuStillPct = ((processCpuSeconds(server.pid, TICKS) - still0) / ((performance.now() - stillT0) / 1000)) * 100;

    const ws = await context.newPage();
    await ws.goto(`${server.httpUrl}/?device=${device}&transport=ws&codec=jpeg`);
    await waitFor(
      "the fallback canvas",
      () =>
        ws.evaluate(() => (globalThis as unknown as { document: { querySelector(s: string): { width: number } } }).document.querySelector("#canvas").width > 0),
      {
        timeoutMs: 20_000,
      },
    );
    await ws.evaluate(watchColours, "#canvas");
    const fallback = await glassToGlass(ws, win);
    await ws.close();

    // A moving picture over the whole display, one WebRTC viewer: the server's CPU, the bitrate and frame rate it sends.
    motion = spawn(
      "gst-launch-1.0",
      [
        "-q",
        "videotestsrc",
        "pattern=ball",
        "motion=sweep",
        "background-color=0xff204060",
        "!",
        `video/x-raw,width=${width},height=${height},framerate=30/1`,
        "!",
        "videoconvert",
        "!",
        "ximagesink",
        `display=${display.display}`,
        "sync=true",
      ],
      { stdio: "ignore", env: display.env },
    );
    await sleep(3000);
    const text0 = await server.metricsText();
    const cpu0 = processCpuSeconds(server.pid, TICKS);
    const t0 = performance.now();
    await sleep(seconds * 1000);
    const dt = (performance.now() - t0) / 1000;
    const cpu = processCpuSeconds(server.pid, TICKS) - cpu0;
    const text1 = await server.metricsText();
    const bytes = (t: string) => sumOf(parseMetrics(t), "tessera_rtp_payload_bytes_total", { direction: "in", kind: "video" });
    const fps = await rtc.evaluate(() => {
      const s = (globalThis as unknown as { tessera?: { stats?: { fps?: number | null } } }).tessera?.stats;
      return s?.fps ?? NaN;
    });
    return {
      codec,
      webrtcP50: median(webrtc),
      webrtcP90: p90(webrtc),
      fallbackP50: median(fallback),
      fallbackP90: p90(fallback),
      cpuPct: (cpu / dt) * 100,
      cpuStillPct,
      kbps: ((bytes(text1) - bytes(text0)) * 8) / dt / 1000,
      fps,
    };
  } finally {
    motion?.kill("SIGKILL");
    win.close();
    await context.close().catch(() => undefined);
    await server.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const display = await startXvfb({ width, height });
  const browser = await launchBrowser();
  const rows: Row[] = [];
  try {
    for (const codec of codecs) rows.push(await measure(display, browser, codec));
  } finally {
    await browser.close().catch(() => undefined);
    await display.close();
  }
  const m = machineInfo();
  const f = (n: number, d = 0) => (Number.isFinite(n) ? n.toFixed(d) : "–");
  console.log(
    `host mode, Xvfb ${width}x${height}, software encoders, ${flips} colour changes per transport, ${seconds} s of motion; ${m.cpuModel}, ${m.cores} cores, Node ${m.node}`,
  );
  console.log(
    "codec | glass-to-glass WebRTC p50/p90 ms | fallback (JPEG) p50/p90 ms | server CPU still / moving (% of a core) | video kb/s moving | viewer fps",
  );
  for (const r of rows)
    console.log(
      `${r.codec} | ${f(r.webrtcP50)}/${f(r.webrtcP90)} | ${f(r.fallbackP50)}/${f(r.fallbackP90)} | ${f(r.cpuStillPct)} / ${f(r.cpuPct)} | ${f(r.kbps)} | ${f(r.fps, 1)}`,
    );
}

main().then(
  () => exitBounded(0),
  (err: unknown) => {
    console.error(err);
    exitBounded(1);
  },
);
