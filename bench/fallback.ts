/**
 * The WebSocket fallback stream: bytes per second of jpeg-striped and
 * x264-striped streams against full-frame MJPEG of the same picture, server
 * CPU per frame, time to the first whole picture, and frame latency inside
 * the server, for the moving test pattern and for a still screen with a
 * ticking clock.
 *
 *   npm run bench:fallback -- --seconds 10
 */
import { parseArgs } from "node:util";
import { FallbackClient } from "../e2e/lib/fallback-client.js";
import { WeriftViewer } from "../e2e/lib/werift-peers.js";
import { waitFor, waitForAsync } from "../e2e/lib/signaling-client.js";
import { GstPipeline } from "../pipelines/pipeline.js";
import { testPictureDescription } from "../pipelines/descriptions.js";
import { STILL_PICTURE } from "../server/sources/local-sources.js";
import { benchOptions } from "./args.js";
import { exitBounded } from "./exit.js";
import { clockTicksPerSecond, machineInfo, processCpuSeconds } from "./proc.js";
import { bucketDelta, bucketQuantile, bucketsOf, parseMetrics } from "./prom.js";
import { ServerProcess } from "./server-process.js";

const { values, seconds } = benchOptions("bench:fallback", "[--seconds 10] [--json]", () => {
  const { values } = parseArgs({ options: { seconds: { type: "string", default: "10" }, json: { type: "boolean", default: false } } });
  const seconds = Number(values.seconds);
  if (!(seconds >= 3 && seconds <= 120)) throw new Error("--seconds: expected 3-120");
  return { values, seconds };
});
const TICKS = clockTicksPerSecond();
/** The test device's frame rate. */
const DEVICE_FPS = 30;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Row {
  motion: "moving" | "still";
  stream: string;
  kbps: number;
  fps: number;
  stripesPerFrame: number;
  /** Server CPU above the no-viewer baseline, per device frame. */
  cpuMsPerFrame: number | null;
  firstFrameMs: number | null;
  latencyP50Ms: number | null;
  latencyP99Ms: number | null;
}

async function metricsOf(server: ServerProcess) {
  return parseMetrics(await (await fetch(`${server.httpUrl}/metrics`)).text());
}

/** One fallback viewer for `seconds`: what it received and what it cost the server. */
async function measureStream(server: ServerProcess, motion: Row["motion"], codec: "jpeg" | "h264", baselineCpuPerS: number): Promise<Row> {
  const latencyBefore = bucketsOf(await metricsOf(server), "tessera_fallback_frame_latency_seconds");
  const opened = performance.now();
  const client = new FallbackClient(`${server.httpUrl.replace(/^http/, "ws")}/ws/stream/test?codec=${codec}`);
  const stream = await waitFor(() => client.of("stream")[0], 15_000, "stream message");
  const stripesInFrame = Math.ceil(Number(stream.height) / Number(stream.stripeHeight));
  await waitFor(() => (client.frames()[0]?.length ?? 0) >= stripesInFrame, 15_000, "the first whole picture");
  const firstFrameMs = client.stripes[stripesInFrame - 1].at - opened;
  await sleep(1000); // settle: the first second is the whole picture and lossy video settling
  const bytes0 = client.bytes;
  const frames0 = client.frames().length;
  const stripes0 = client.stripes.length;
  const cpu0 = processCpuSeconds(server.pid, TICKS);
  const t0 = performance.now();
  await sleep(seconds * 1000);
  const dt = (performance.now() - t0) / 1000;
  const cpu = processCpuSeconds(server.pid, TICKS) - cpu0;
  const frames = client.frames().length - frames0;
  const latency = bucketDelta(latencyBefore, bucketsOf(await metricsOf(server), "tessera_fallback_frame_latency_seconds"));
  client.close();
  await waitForAsync(
    async () => (await metricsOf(server)).every((s) => s.name !== "tessera_pipelines_active" || s.labels.kind === "test_source" || s.value === 0),
    10_000,
    "the stream to stop",
  );
  const q = (p: number) => {
    const v = bucketQuantile(latency, p);
    return v === undefined ? null : v * 1000;
  };
  return {
    motion,
    stream: `${codec}-striped`,
    kbps: ((client.bytes - bytes0) * 8) / dt / 1000,
    fps: frames / dt,
    stripesPerFrame: frames > 0 ? (client.stripes.length - stripes0) / frames : 0,
    // The decoder and stripe compare run for every device frame, sent or not.
    cpuMsPerFrame: ((cpu - baselineCpuPerS * dt) * 1000) / (dt * DEVICE_FPS),
    firstFrameMs,
    latencyP50Ms: q(0.5),
    latencyP99Ms: q(0.99),
  };
}

/** Full-frame MJPEG of the same picture at the same quality (40), encoded here by GStreamer from the raw pattern. */
async function measureMjpeg(motion: Row["motion"]): Promise<Row> {
  const pattern = motion === "still" ? STILL_PICTURE : {};
  const p = new GstPipeline(`${testPictureDescription(pattern)}jpegenc quality=40 ! appsink name=out sync=false max-buffers=60 drop=true`, {
    kind: "jpeg_encode",
  });
  let bytes = 0;
  let frames = 0;
  let counting = false;
  p.start();
  p.pullFrom("out", (buf) => {
    if (!counting) return;
    bytes += buf.length;
    frames++;
  });
  await sleep(1000);
  counting = true;
  const t0 = performance.now();
  await sleep(seconds * 1000);
  const dt = (performance.now() - t0) / 1000;
  counting = false;
  p.close();
  return {
    motion,
    stream: "full-frame MJPEG",
    kbps: (bytes * 8) / dt / 1000,
    fps: frames / dt,
    stripesPerFrame: 1,
    cpuMsPerFrame: null,
    firstFrameMs: null,
    latencyP50Ms: null,
    latencyP99Ms: null,
  };
}

async function main(): Promise<void> {
  const rows: Row[] = [];
  for (const motion of ["moving", "still"] as const) {
    const server = await ServerProcess.start(["--port", "0", "--source-motion", motion, "--ice-host", "127.0.0.1", "--log-level", "info"], {
      ...process.env,
      UV_THREADPOOL_SIZE: "128",
    });
    // The test device encodes only while watched: a WebRTC viewer keeps its encoder running through the
    // baseline and every window alike, so the baseline holds the encoder and the figures only the fallback's work.
    let keeper: WeriftViewer | undefined;
    try {
      await waitForAsync(async () => (await fetch(`${server.httpUrl}/readyz`)).ok, 15_000, "ready");
      keeper = await WeriftViewer.connect(server.wsUrl);
      keeper.watch("test");
      const kept = await waitFor(() => keeper!.streams.get("test"), 10_000, "an offer to the keeping viewer");
      await waitFor(() => kept.keyframeSize, 10_000, "the test device encoding");
      await sleep(1000);
      const c0 = processCpuSeconds(server.pid, TICKS);
      const t0 = performance.now();
      await sleep(3000);
      const baseline = (processCpuSeconds(server.pid, TICKS) - c0) / ((performance.now() - t0) / 1000);
      for (const codec of ["jpeg", "h264"] as const) rows.push(await measureStream(server, motion, codec, baseline));
    } finally {
      await keeper?.close().catch(() => {});
      await server.stop();
    }
    rows.push(await measureMjpeg(motion));
  }
  const m = machineInfo();
  if (values.json) {
    process.stdout.write(JSON.stringify({ machine: m, seconds, rows }) + "\n");
    return;
  }
  const f = (v: number | null, d = 1) => (v === null ? "–" : v.toFixed(d));
  console.log(`fallback stream, 1280x720 test device at 30 fps, ${seconds} s per stream; ${m.cpuModel}, ${m.cores} cores, Node ${m.node}`);
  console.log("picture | stream | kb/s | frames/s sent | stripes/frame | server CPU ms per device frame | first picture ms | latency p50/p99 ms");
  for (const r of rows) {
    console.log(
      `${r.motion} | ${r.stream} | ${f(r.kbps, 0)} | ${f(r.fps)} | ${f(r.stripesPerFrame)} | ${f(r.cpuMsPerFrame, 2)} | ${f(r.firstFrameMs, 0)} | ${f(r.latencyP50Ms)}/${f(r.latencyP99Ms)}`,
    );
  }
}

main().then(
  () => exitBounded(0),
  (err: unknown) => {
    console.error(err);
    exitBounded(1);
  },
);
