/**
 * Fan-out bench: one werift device publishing a high-motion 720p30 VP8
 * stream to a Tessera server in a child process, N werift viewers
 * watching it. Measures, over a steady window, the server's CPU per
 * forwarded packet (raw and minus a zero-viewer baseline), viewers' loss,
 * the relay's forward latency, and server memory per viewer.
 *
 *   npm run bench:fanout -- --viewers 16 --seconds 20 [--warmup 5]
 *     [--baseline S] [--codec vp8|h264] [--bitrate 2500] [--json]
 *
 * The bench's own peers (encoder, N DTLS/SRTP receivers) run on the same
 * machine and compete with the server for CPU; the report shows both.
 */
import { parseArgs } from "node:util";
import { waitFor } from "../e2e/lib/signaling-client.js";
import { WeriftDevice, WeriftViewer, type ReceivedStream } from "../e2e/lib/werift-peers.js";
import { seqDiff } from "../server/relay/rtp.js";
import { clockTicksPerSecond, machineBusy, machineInfo, machineTicks, processCpuSeconds, processRssBytes, type MachineTicks } from "./proc.js";
import { bucketDelta, bucketQuantile, bucketsOf, parseMetrics, sumOf, type Sample } from "./prom.js";
import { bounded, intArg as int, runBench } from "./run.js";
import { ServerProcess } from "./server-process.js";

const DEVICE_ID = "bench";
/**
 * High motion, so the encoder spends its budget. TESTING.md's plain vp8enc gives ≈2.4 Mb/s
 * with it; the test device's error-resilient VP8 with overlays gives ≈3.1 Mb/s, ≈340 video
 * packets/s, and no lower even at a 1 Mb/s target.
 */
const SOURCE_PATTERN = "smpte horizontal-speed=10";
const LATENCY = "tessera_forward_latency_seconds";
const PACKETS = "tessera_rtp_packets_total";
const BYTES = "tessera_rtp_payload_bytes_total";

/** Bench options, parsed once. */
interface Options {
  viewers: number;
  seconds: number;
  warmup: number;
  baseline: number;
  codec: "vp8" | "h264";
  /** Encoder target, kb/s. */
  bitrate: number;
  json: boolean;
}

function parseOptions(argv: string[]): Options {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    options: {
      viewers: { type: "string", default: "8" },
      seconds: { type: "string", default: "20" },
      warmup: { type: "string", default: "5" },
      baseline: { type: "string" },
      codec: { type: "string", default: "vp8" },
      bitrate: { type: "string", default: "2500" },
      json: { type: "boolean", default: false },
      help: { type: "boolean", short: "h", default: false },
    },
  });
  if (values.help) {
    process.stdout.write(
      "usage: npm run bench:fanout -- [--viewers 8] [--seconds 20] [--warmup 5] [--baseline SECONDS] [--codec vp8|h264] [--bitrate KBPS] [--json]\n",
    );
    process.exit(0);
  }
  if (values.codec !== "vp8" && values.codec !== "h264") throw new TypeError(`--codec: expected vp8 or h264, got ${values.codec}`);
  // Viewers keep at most 100,000 sequence numbers: bounds keep warm-up + window under that.
  const seconds = int("seconds", values.seconds, 1, 180);
  return Object.freeze({
    viewers: int("viewers", values.viewers, 1, 64),
    seconds,
    warmup: int("warmup", values.warmup, 0, 60),
    baseline: int("baseline", values.baseline ?? String(seconds), 1, 180),
    codec: values.codec,
    bitrate: int("bitrate", values.bitrate, 100, 20_000),
    json: values.json,
  });
}

/** Everything read at one instant. */
interface Snapshot {
  atMs: number;
  serverCpuS: number;
  benchCpu: NodeJS.CpuUsage;
  machine: MachineTicks;
  metrics: Sample[];
  devicePackets: number;
  /** PLIs the device received so far. */
  devicePlis: number;
  /** Per viewer: packets received so far and how many video sequence numbers were recorded. */
  viewers: { video: number; audio: number; seqs: number }[];
}

/** A measured stretch of time. */
interface Window {
  start: Snapshot;
  end: Snapshot;
  rssMeanBytes: number;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

class Bench {
  readonly ticks = clockTicksPerSecond();
  server: ServerProcess | undefined;
  device: WeriftDevice | undefined;
  readonly viewers: WeriftViewer[] = [];
  private closing: Promise<void> | undefined;

  constructor(readonly opts: Options) {}

  stream(v: WeriftViewer): ReceivedStream | undefined {
    return v.streams.get(DEVICE_ID);
  }

  async snapshot(): Promise<Snapshot> {
    const server = this.server!;
    const metrics = parseMetrics(await server.metricsText());
    return {
      atMs: performance.now(),
      serverCpuS: processCpuSeconds(server.pid, this.ticks),
      benchCpu: process.cpuUsage(),
      machine: machineTicks(),
      metrics,
      devicePackets: this.device?.packetsSent ?? 0,
      devicePlis: this.device?.plis ?? 0,
      viewers: this.viewers.map((v) => {
        const s = this.stream(v);
        return { video: s?.videoPackets ?? 0, audio: s?.audioPackets ?? 0, seqs: s?.videoSeqs.length ?? 0 };
      }),
    };
  }

  /** Measures `seconds`, sampling the server's RSS once a second. */
  async measure(seconds: number): Promise<Window> {
    const start = await this.snapshot();
    const rss: number[] = [];
    const endAt = start.atMs + seconds * 1000;
    while (performance.now() < endAt) {
      await sleep(Math.min(1000, endAt - performance.now()));
      if (!this.server!.running) throw new Error("server exited during the window");
      rss.push(processRssBytes(this.server!.pid));
    }
    const end = await this.snapshot();
    return { start, end, rssMeanBytes: rss.reduce((a, b) => a + b, 0) / Math.max(1, rss.length) };
  }

  async run(): Promise<Report> {
    const o = this.opts;
    const env = { ...process.env, UV_THREADPOOL_SIZE: "16" };
    // --log-level info, not warn: the server prints its listening line at info,
    // and logs nothing else per packet or per viewer at that level.
    this.server = await ServerProcess.start(["--port", "0", "--source", "none", "--ice-host", "127.0.0.1", "--log-level", "info"], env);
    log(`server pid ${this.server.pid} at ${this.server.httpUrl}`);
    this.device = await WeriftDevice.publish(this.server.wsUrl, {
      id: DEVICE_ID,
      name: "Fan-out bench",
      codec: o.codec,
      // One encoder thread: with two, libvpx's CBR swings between 0.4 and 8 Mb/s per 2 s on this machine.
      source: { pattern: SOURCE_PATTERN, bitrateKbps: o.bitrate, encoderThreads: 1 },
    });
    const inVideo = async () => sumOf(parseMetrics(await this.server!.metricsText()), PACKETS, { direction: "in", kind: "video" });
    for (const deadline = Date.now() + 15_000; (await inVideo()) === 0; await sleep(100)) {
      if (Date.now() > deadline) throw new Error("the server received no video from the device within 15 s");
    }
    log(`device publishing; warming up ${o.warmup} s, then ${o.baseline} s baseline with no viewers`);
    await sleep(o.warmup * 1000);
    const baseline = await this.measure(o.baseline);

    log(`connecting ${o.viewers} viewers`);
    for (let i = 0; i < o.viewers; i++) {
      const v = await WeriftViewer.connect(this.server.wsUrl);
      this.viewers.push(v);
      v.watch(DEVICE_ID);
    }
    await waitFor(() => this.viewers.every((v) => (this.stream(v)?.videoPackets ?? 0) > 0), 10_000 + 500 * o.viewers, "video at every viewer");
    log(`all viewers receive video; warming up ${o.warmup} s, then measuring ${o.seconds} s`);
    await sleep(o.warmup * 1000);
    const steady = await this.measure(o.seconds);
    return summarize(
      o,
      baseline,
      steady,
      this.viewers.map((v) => this.stream(v)!),
    );
  }

  /** Closes peers and the server, each bounded in time; idempotent, and safe after a failure. */
  close(): Promise<void> {
    return (this.closing ??= this.closeAll());
  }

  private async closeAll(): Promise<void> {
    for (const v of this.viewers) await bounded("closing a viewer", 3000, () => v.close());
    if (this.device) await bounded("closing the device", 3000, () => this.device!.close());
    if (this.server) await bounded("stopping the server", 8000, () => this.server!.stop());
  }
}

/** Lost = expected − distinct received, from one viewer's sequence numbers (unwrapped; duplicates from retransmission count once). */
function seqLoss(seqs: readonly number[]): { expected: number; lost: number } {
  if (seqs.length === 0) return { expected: 0, lost: 0 };
  const seen = new Set<number>();
  let unwrapped = 0;
  let min = 0;
  let max = 0;
  seen.add(0);
  for (let i = 1; i < seqs.length; i++) {
    unwrapped += seqDiff(seqs[i], seqs[i - 1]);
    seen.add(unwrapped);
    min = Math.min(min, unwrapped);
    max = Math.max(max, unwrapped);
  }
  const expected = max - min + 1;
  return { expected, lost: expected - seen.size };
}

/** The bench's findings, in units a README can quote. */
interface Report {
  date: string;
  machine: ReturnType<typeof machineInfo>;
  viewers: number;
  codec: string;
  targetKbps: number;
  windowS: number;
  inputMbps: number;
  inputPps: number;
  inputVideoPps: number;
  /** Video packets the device handed to werift, per second: a check on the publisher's hop. */
  deviceSentVideoPps: number;
  baselineInputMbps: number;
  keyframeRequestsPerS: number;
  forwardedPps: number;
  perViewerPps: number;
  serverOutPps: number;
  cpuUsPerPacketRaw: number;
  cpuUsPerPacketNet: number;
  serverCpuPct: number;
  baselineCpuPct: number;
  benchCpuPct: number;
  machineBusyPct: number;
  /** CPU used by every other process on the machine, % of one core: the bench shares it. */
  otherCpuPct: number;
  lossSeqPct: number;
  deliveredPct: number;
  nacksPerS: number;
  latencyP50Ms: number | null;
  latencyP99Ms: number | null;
  rssPerViewerMB: number;
  rssBaselineMB: number;
  rssMB: number;
}

function summarize(o: Options, base: Window, w: Window, streams: ReceivedStream[]): Report {
  const secs = (x: Window) => (x.end.atMs - x.start.atMs) / 1000;
  const delta = (x: Window, name: string, match: Record<string, string> = {}) => sumOf(x.end.metrics, name, match) - sumOf(x.start.metrics, name, match);
  const t = secs(w);
  const baseCpuRate = (base.end.serverCpuS - base.start.serverCpuS) / secs(base);
  const cpuS = w.end.serverCpuS - w.start.serverCpuS;

  let received = 0;
  let expected = 0;
  let lost = 0;
  streams.forEach((s, i) => {
    const a = w.start.viewers[i];
    const b = w.end.viewers[i];
    received += b.video - a.video + (b.audio - a.audio);
    const l = seqLoss(s.videoSeqs.slice(a.seqs, b.seqs));
    expected += l.expected;
    lost += l.lost;
  });

  const inPackets = delta(w, PACKETS, { direction: "in" });
  const inVideo = delta(w, PACKETS, { direction: "in", kind: "video" });
  const latency = bucketDelta(bucketsOf(w.start.metrics, LATENCY), bucketsOf(w.end.metrics, LATENCY));
  const ms = (q: number) => {
    const v = bucketQuantile(latency, q);
    return v === undefined ? null : v * 1000;
  };
  const benchCpuUs = w.end.benchCpu.user + w.end.benchCpu.system - (w.start.benchCpu.user + w.start.benchCpu.system);
  return {
    date: new Date().toISOString(),
    machine: machineInfo(),
    viewers: o.viewers,
    codec: o.codec,
    targetKbps: o.bitrate,
    windowS: t,
    inputMbps: (delta(w, BYTES, { direction: "in" }) * 8) / t / 1e6,
    inputPps: inPackets / t,
    inputVideoPps: inVideo / t,
    deviceSentVideoPps: (w.end.devicePackets - w.start.devicePackets) / t,
    baselineInputMbps: (delta(base, BYTES, { direction: "in" }) * 8) / secs(base) / 1e6,
    keyframeRequestsPerS: (w.end.devicePlis - w.start.devicePlis) / t,
    forwardedPps: received / t,
    perViewerPps: received / t / o.viewers,
    serverOutPps: delta(w, PACKETS, { direction: "out" }) / t,
    cpuUsPerPacketRaw: (cpuS * 1e6) / received,
    cpuUsPerPacketNet: ((cpuS - baseCpuRate * t) * 1e6) / received,
    serverCpuPct: (cpuS / t) * 100,
    baselineCpuPct: baseCpuRate * 100,
    benchCpuPct: benchCpuUs / 1e4 / t,
    machineBusyPct: machineBusy(w.start.machine, w.end.machine) * 100,
    otherCpuPct: machineBusy(w.start.machine, w.end.machine) * machineInfo().cores * 100 - (cpuS / t) * 100 - benchCpuUs / 1e4 / t,
    lossSeqPct: expected > 0 ? (lost / expected) * 100 : 0,
    deliveredPct: inPackets > 0 ? (received / (inPackets * o.viewers)) * 100 : 0,
    nacksPerS: delta(w, "tessera_nacks_received_total") / t,
    latencyP50Ms: ms(0.5),
    latencyP99Ms: ms(0.99),
    rssPerViewerMB: (w.rssMeanBytes - base.rssMeanBytes) / o.viewers / 2 ** 20,
    rssBaselineMB: base.rssMeanBytes / 2 ** 20,
    rssMB: w.rssMeanBytes / 2 ** 20,
  };
}

function print(r: Report): void {
  const f = (n: number | null, d = 1) => (n === null ? "n/a" : n === Infinity ? ">100" : n.toFixed(d));
  const rows: [string, string][] = [
    ["date", r.date],
    ["machine", `${r.machine.cpuModel}, ${r.machine.cores} cores, Linux ${r.machine.kernel}, Node ${r.machine.node}`],
    ["viewers", `${r.viewers} (${r.codec} at a ${r.targetKbps} kb/s target, window ${f(r.windowS)} s)`],
    [
      "input (device → server)",
      `${f(r.inputMbps, 2)} Mb/s payload, ${f(r.inputPps)} packets/s (video ${f(r.inputVideoPps)}, device sent ${f(r.deviceSentVideoPps)}); ${f(r.keyframeRequestsPerS, 2)} PLIs/s; ${f(r.baselineInputMbps, 2)} Mb/s with no viewers`,
    ],
    ["forwarded (viewers received)", `${f(r.forwardedPps)} packets/s, ${f(r.perViewerPps)} per viewer`],
    ["server out (/metrics)", `${f(r.serverOutPps)} packets/s`],
    ["server CPU per packet", `${f(r.cpuUsPerPacketRaw)} µs raw, ${f(r.cpuUsPerPacketNet)} µs minus no-viewer baseline`],
    ["server CPU", `${f(r.serverCpuPct)} % of a core (baseline ${f(r.baselineCpuPct)} %)`],
    [
      "bench process CPU",
      `${f(r.benchCpuPct)} % of a core; machine ${f(r.machineBusyPct)} % busy (all cores); other processes ${f(r.otherCpuPct)} % of a core`,
    ],
    [
      "loss at viewers",
      `${f(r.lossSeqPct, 3)} % (sequence gaps); delivered ${f(r.deliveredPct, 2)} % of input × viewers; ${f(r.nacksPerS, 2)} NACKed packets/s`,
    ],
    ["forward latency (bucket-interpolated)", `p50 ${f(r.latencyP50Ms, 3)} ms, p99 ${f(r.latencyP99Ms, 3)} ms`],
    ["server RSS", `${f(r.rssMB)} MB (baseline ${f(r.rssBaselineMB)} MB), ${f(r.rssPerViewerMB, 2)} MB per viewer`],
  ];
  const width = Math.max(...rows.map(([k]) => k.length));
  process.stdout.write(`\nTessera fan-out bench\n${rows.map(([k, v]) => `  ${k.padEnd(width)}  ${v}`).join("\n")}\n`);
  process.stdout.write(
    `\n| viewers | packets fwd/s | CPU µs/pkt raw | CPU µs/pkt − baseline | loss % | p50 / p99 fwd latency ms | RSS/viewer MB |\n` +
      `|---|---|---|---|---|---|---|\n` +
      `| ${r.viewers} | ${f(r.forwardedPps, 0)} | ${f(r.cpuUsPerPacketRaw)} | ${f(r.cpuUsPerPacketNet)} | ${f(r.lossSeqPct, 2)} | ${f(r.latencyP50Ms, 2)} / ${f(r.latencyP99Ms, 2)} | ${f(r.rssPerViewerMB, 2)} |\n`,
  );
}

function log(msg: string): void {
  process.stderr.write(`[bench] ${msg}\n`);
}

async function main(): Promise<void> {
  let opts: Options;
  try {
    opts = parseOptions(process.argv.slice(2));
  } catch (err) {
    process.stderr.write(`bench:fanout: ${(err as Error).message}\n`);
    process.exit(2);
  }
  if (Number(process.env.UV_THREADPOOL_SIZE ?? 4) < 8) {
    // The device's pipeline holds three threadpool threads (two appsink pulls, the bus).
    log("warning: UV_THREADPOOL_SIZE is below 8; the publisher's pipeline may stall (npm run bench:fanout sets 16)");
  }
  // Bound the whole run: set-up, warm-ups, windows, connecting viewers, closing.
  await runBench("bench:fanout", new Bench(opts), 60 + 2 * opts.warmup + opts.baseline + opts.seconds + 2 * opts.viewers, print, opts.json);
}

void main();
