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
import type { Browser } from "playwright-core";
import { launchBrowser, waitFor } from "../e2e/harness.js";
import { startXvfb, type TestDisplay } from "../e2e/lib/xvfb.js";
import { benchOptions } from "./args.js";
import { exitBounded } from "./exit.js";
import { ColourWindow, glassArgs, glassToGlass, percentile, watchColours } from "./glass.js";
import { clockTicksPerSecond, machineInfo, processCpuSeconds } from "./proc.js";
import { parseMetrics, sumOf } from "./prom.js";
import { ServerProcess } from "./server-process.js";

const { seconds, flips, width, height, codecs } = benchOptions("bench:host", "[--seconds 15] [--flips 30] [--size 1920x1080] [--codecs vp8,h264]", () => {
  const { values } = parseArgs({
    options: {
      seconds: { type: "string", default: "15" },
      flips: { type: "string", default: "30" },
      size: { type: "string", default: "1920x1080" },
      codecs: { type: "string", default: "vp8,h264" },
    },
  });
  const codecs = values.codecs.split(",").map((c) => {
    if (c !== "vp8" && c !== "h264") throw new Error("--codecs: expected a comma list of vp8 and h264");
    return c;
  });
  return { ...glassArgs(values), codecs };
});
const TICKS = clockTicksPerSecond();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const median = (xs: number[]) => percentile(xs, 0.5);
const p90 = (xs: number[]) => percentile(xs, 0.9);

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
  const win = await ColourWindow.open(display.display, width, height);
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
    const webrtc = await glassToGlass(rtc, win, flips);

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
    const fallback = await glassToGlass(ws, win, flips);
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
