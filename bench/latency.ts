/**
 * Glass-to-glass delay through Tessera against a direct connection, in one
 * Chromium. A canvas draws a moving picture and the time of drawing in it
 * (e2e/pages/stamp.ts); a device page publishes that canvas as its camera,
 * and Tessera's viewer page watches it over WebRTC, over jpeg-striped and
 * over x264-striped WebSocket streams; then the same canvas goes from one
 * page straight to another (VP8, as the device page sends), with no server
 * between. Each viewer reads the time back from every frame it presents,
 * so a delay is the whole way from canvas to screen: capture, encode,
 * network, the server, jitter buffer, decode. Every transport is measured
 * `--rounds` times in turn (the device page closed while the direct pair
 * runs), each for `--seconds` after a warm-up; after each window `--joins`
 * more viewer pages open one by one, for the time from a page's navigation
 * to the first frame it shows.
 *
 *   npm run bench:latency -- --seconds 15 --rounds 2 [--joins 3] [--size 1280x720] [--paths webrtc,jpeg,x264,direct] [--json]
 */
import { parseArgs } from "node:util";
import type { Browser, Page } from "playwright-core";
import { DESKTOP, launchBrowser, Pages, startServer, waitFor, type Env } from "../e2e/harness.js";
import type { StampReadings } from "../e2e/stamp-api.js";
import { benchOptions } from "./args.js";
import { exitBounded } from "./exit.js";
import { percentile } from "./glass.js";
import { machineInfo } from "./proc.js";
import { callStamp, openDirectPair, openStampPublisher, stampWatcher } from "./stamp-pages.js";

const DEVICE_ID = "bench-latency";
const WARMUP_MS = 5_000;
const FIRST_FRAME_TIMEOUT_MS = 30_000;

type Path = "direct" | "webrtc" | "jpeg" | "x264";
const PATHS: Record<Path, string> = {
  direct: "Chromium → Chromium, two pages, no server (VP8)",
  webrtc: "Chromium → Tessera → viewer page, WebRTC (VP8)",
  jpeg: "Chromium → Tessera → viewer page, jpeg-striped",
  x264: "Chromium → Tessera → viewer page, x264-striped",
};

/** The command line, checked; throws naming the option that is wrong. */
function options() {
  const { values } = parseArgs({
    options: {
      seconds: { type: "string", default: "15" },
      rounds: { type: "string", default: "2" },
      joins: { type: "string", default: "3" },
      size: { type: "string", default: "1280x720" },
      paths: { type: "string", default: "webrtc,jpeg,x264,direct" },
      json: { type: "boolean", default: false },
    },
  });
  const seconds = Number(values.seconds);
  const rounds = Number(values.rounds);
  const joins = Number(values.joins);
  const [width, height] = values.size.split("x").map(Number);
  if (!(seconds >= 3 && seconds <= 120)) throw new Error("--seconds: expected 3-120");
  if (!(Number.isInteger(rounds) && rounds >= 1 && rounds <= 10)) throw new Error("--rounds: expected 1-10");
  if (!(Number.isInteger(joins) && joins >= 0 && joins <= 50)) throw new Error("--joins: expected 0-50");
  if (!(width >= 320 && height >= 240 && width <= 1920 && height <= 1080 && width % 2 === 0 && height % 2 === 0))
    throw new Error("--size: expected even WxH within 320x240-1920x1080");
  const paths = values.paths.split(",") as Path[];
  if (paths.some((p) => !(p in PATHS))) throw new Error(`--paths: expected some of ${Object.keys(PATHS).join(",")}, got ${values.paths}`);
  return { seconds, rounds, joins, width, height, paths, json: values.json };
}

const parsed = benchOptions("bench:latency", "[--seconds 15] [--rounds 2] [--joins 3] [--size 1280x720] [--paths webrtc,jpeg,x264,direct] [--json]", options);
const { seconds, rounds, joins, width, height, paths } = parsed;
const viaServer = (["webrtc", "jpeg", "x264"] as const).filter((p) => paths.includes(p));

/** One measured window of one path. */
interface Window {
  path: Path;
  round: number;
  readings: StampReadings;
  /** WebRTC only (NaN or 0 otherwise): video received, kbit/s; mean jitter-buffer delay and decode time per frame, ms. */
  kbps: number;
  jitterBufferMs: number;
  decodeMs: number;
}

/** What a WebRTC receiver's getStats says so far (`window.tessera.pc`, as the viewer page and the direct pair keep it); zeros without WebRTC. */
interface VideoStats {
  bytes: number;
  /** Sums over the frames: jitterBufferDelay and totalDecodeTime, s. */
  jitterBuffer: number;
  frames: number;
  decode: number;
  decoded: number;
}

function videoStats(page: Page): Promise<VideoStats> {
  return page.evaluate(async () => {
    const pc = (globalThis as unknown as { tessera?: { pc?: { getStats(): Promise<Map<string, Record<string, unknown>>> } } }).tessera?.pc;
    const out = { bytes: 0, jitterBuffer: 0, frames: 0, decode: 0, decoded: 0 };
    if (!pc?.getStats) return out;
    (await pc.getStats()).forEach((s) => {
      if (s.type !== "inbound-rtp" || s.kind !== "video") return;
      out.bytes = Number(s.bytesReceived ?? 0);
      out.jitterBuffer = Number(s.jitterBufferDelay ?? 0);
      out.frames = Number(s.jitterBufferEmittedCount ?? 0);
      out.decode = Number(s.totalDecodeTime ?? 0);
      out.decoded = Number(s.framesDecoded ?? 0);
    });
    return out;
  });
}

/** Waits for the first readable frame, lets the path settle, then reads one window. */
async function measureWindow(page: Page, path: Path, round: number): Promise<Window> {
  await waitFor(`${path}: the first stamped frame`, async () => (await callStamp(page, "readings", false)).firstAt !== null, {
    timeoutMs: FIRST_FRAME_TIMEOUT_MS,
    intervalMs: 100,
  });
  await new Promise((r) => setTimeout(r, WARMUP_MS));
  await callStamp(page, "readings", true);
  const before = await videoStats(page);
  await new Promise((r) => setTimeout(r, seconds * 1000));
  const readings = await callStamp(page, "readings", true);
  const after = await videoStats(page);
  const per = (a: number, n: number) => (n > 0 ? (a * 1000) / n : NaN);
  return {
    path,
    round,
    readings,
    kbps: ((after.bytes - before.bytes) * 8) / seconds / 1000,
    jitterBufferMs: per(after.jitterBuffer - before.jitterBuffer, after.frames - before.frames),
    decodeMs: per(after.decode - before.decode, after.decoded - before.decoded),
  };
}

const viewerQuery = (path: Exclude<Path, "direct">): Record<string, string> =>
  path === "webrtc" ? {} : { transport: "ws", codec: path === "x264" ? "h264" : "jpeg" };
const watcher = (path: Exclude<Path, "direct">): string[] => stampWatcher(path === "webrtc" ? "#video" : "#canvas");

async function viaTessera(env: Env, path: Exclude<Path, "direct">, round: number): Promise<Window> {
  const pages = new Pages(env);
  try {
    const page = await pages.viewer(DEVICE_ID, path, viewerQuery(path), DESKTOP, watcher(path));
    return await measureWindow(page, path, round);
  } catch (err) {
    process.stderr.write(pages.report() + "\n");
    throw err;
  } finally {
    await pages.close();
  }
}

/** A viewer page opened anew: from its navigation to the first stamped frame it shows, ms. */
async function join(env: Env, path: Exclude<Path, "direct">): Promise<number> {
  const pages = new Pages(env);
  try {
    const page = await pages.viewer(DEVICE_ID, `${path}-join`, viewerQuery(path), DESKTOP, watcher(path));
    return await waitFor(
      `${path}: a joining viewer's first stamped frame`,
      async () => (await callStamp(page, "readings", false)).pageToFirstFrame ?? undefined,
      { timeoutMs: FIRST_FRAME_TIMEOUT_MS, intervalMs: 50 },
    );
  } catch (err) {
    process.stderr.write(pages.report() + "\n");
    throw err;
  } finally {
    await pages.close();
  }
}

async function direct(browser: Browser, round: number): Promise<Window> {
  const pair = await openDirectPair(browser, width, height);
  try {
    return await measureWindow(pair.receiver, "direct", round);
  } finally {
    await pair.close();
  }
}

interface Row {
  path: Path;
  what: string;
  frames: number;
  framesPerSecond: number;
  p50: number;
  p95: number;
  /** The mean: presented frames land on the display's refresh, so the percentiles move in steps of one refresh (16.7 ms at 60 Hz). */
  mean: number;
  /** From a viewer page's navigation to its first frame, p50 and p95 over every viewer opened (not for the direct pair), and how many. */
  firstFrame: [number, number];
  firstFrames: number;
  /** p50 of each round. */
  roundP50: number[];
  unreadable: number;
  width: number;
  kbps: number;
  jitterBufferMs: number;
  decodeMs: number;
}

const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;

function summarise(windows: Window[], joined: Map<Path, number[]>): Row[] {
  // Each measured viewer's first frame, and each joining one's.
  const starts = (path: Path): number[] =>
    path === "direct" ? [] : [...windows.filter((w) => w.path === path).map((w) => w.readings.pageToFirstFrame ?? NaN), ...(joined.get(path) ?? [])];
  return (Object.keys(PATHS) as Path[])
    .filter((path) => paths.includes(path))
    .map((path) => {
      const mine = windows.filter((w) => w.path === path);
      const delays = mine.flatMap((w) => w.readings.delays);
      const frames = mine.reduce((n, w) => n + w.readings.frames, 0);
      return {
        path,
        what: PATHS[path],
        frames,
        framesPerSecond: frames / (mine.length * seconds),
        p50: percentile(delays, 0.5),
        p95: percentile(delays, 0.95),
        mean: mean(delays),
        firstFrame: [percentile(starts(path), 0.5), percentile(starts(path), 0.95)],
        firstFrames: starts(path).length,
        roundP50: mine.map((w) => percentile(w.readings.delays, 0.5)),
        unreadable: mine.reduce((n, w) => n + w.readings.unreadable, 0),
        width: mine.at(-1)?.readings.width ?? 0,
        kbps: mean(mine.map((w) => w.kbps)),
        jitterBufferMs: mean(mine.map((w) => w.jitterBufferMs)),
        decodeMs: mean(mine.map((w) => w.decodeMs)),
      };
    });
}

async function main(): Promise<void> {
  const server = await startServer();
  const browser = await launchBrowser().catch(async (err: unknown) => {
    await server.close();
    throw err;
  });
  const env: Env = { server, browser };
  const windows: Window[] = [];
  const joined = new Map<Path, number[]>();
  try {
    for (let round = 1; round <= rounds; round++) {
      if (viaServer.length > 0) {
        const publisher = await openStampPublisher(env, DEVICE_ID, width, height);
        try {
          for (const path of viaServer) {
            process.stderr.write(`[bench] round ${round}: ${PATHS[path]}\n`);
            windows.push(await viaTessera(env, path, round));
            for (let i = 0; i < joins; i++) joined.set(path, [...(joined.get(path) ?? []), await join(env, path)]);
          }
        } finally {
          await publisher.close();
        }
      }
      if (paths.includes("direct")) {
        process.stderr.write(`[bench] round ${round}: ${PATHS.direct}\n`);
        windows.push(await direct(browser, round));
      }
    }
  } finally {
    await browser.close().catch(() => undefined);
    await server.close();
  }
  const rows = summarise(windows, joined);
  const m = machineInfo();
  const ms = (x: number) => (Number.isFinite(x) ? x.toFixed(0) : "–");
  process.stdout.write(
    `glass-to-glass, canvas to presented frame, one Chromium on loopback; ${width}×${height}, ${rounds} round(s) of ${seconds} s per path\n` +
      `machine   ${m.cpuModel}, ${m.cores} cores, Node ${m.node}\ndate      ${new Date().toISOString()}\n\n` +
      `| path | p50 / p95 ms | mean ms | p50 per round ms | frames/s | frame width | video kbit/s | jitter buffer / decode per frame ms | unreadable frames | page to first frame p50 / p95 ms (viewers) |\n|---|---|---|---|---|---|---|---|---|---|\n` +
      rows
        .map(
          (r) =>
            `| ${r.what} | ${ms(r.p50)} / ${ms(r.p95)} | ${r.mean.toFixed(1)} | ${r.roundP50.map(ms).join(", ")} | ${r.framesPerSecond.toFixed(1)} | ${r.width} | ` +
            `${r.kbps > 0 ? r.kbps.toFixed(0) : "–"} | ${r.kbps > 0 ? `${r.jitterBufferMs.toFixed(1)} / ${r.decodeMs.toFixed(1)}` : "–"} | ${r.unreadable} | ${r.firstFrames > 0 ? `${ms(r.firstFrame[0])} / ${ms(r.firstFrame[1])} (${r.firstFrames})` : "–"} |`,
        )
        .join("\n") +
      "\n",
  );
  if (parsed.json) process.stdout.write(JSON.stringify({ date: new Date().toISOString(), machine: m, width, height, seconds, rounds, rows }) + "\n");
}

main().then(
  () => exitBounded(0),
  (err: unknown) => {
    process.stderr.write(`bench:latency: ${(err as Error).stack ?? String(err)}\n`);
    exitBounded(1);
  },
);
