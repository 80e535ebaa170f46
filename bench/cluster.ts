/**
 * Cluster bench: three Tessera nodes sharing a redis-server on loopback,
 * one werift device publishing a high-motion 720p30 VP8 stream to node A,
 * and N werift viewers: first all on A, then spread evenly over A, B and C,
 * then one viewer on each of B and C only. Reports each node's CPU in every
 * phase and what one relay leg costs on either end.
 *
 *   npm run bench:cluster -- --viewers 6 --seconds 15 [--warmup 5] [--json]
 *
 * Everything (Redis, three servers, the encoder and the N receivers) shares
 * this machine's cores; the report says how busy the machine was.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { RedisServer } from "../e2e/lib/redis.js";
import { waitFor, waitForAsync } from "../e2e/lib/signaling-client.js";
import { WeriftDevice, WeriftViewer } from "../e2e/lib/werift-peers.js";
import { benchOptions } from "./args.js";
import { bounded, intArg as int, runBench } from "./run.js";
import { clockTicksPerSecond, machineBusy, machineInfo, machineTicks, processCpuSeconds } from "./proc.js";
import { parseMetrics, sumOf } from "./prom.js";
import { ServerProcess } from "./server-process.js";

const DEVICE_ID = "bench";
const NODE_NAMES = ["A", "B", "C"] as const;

interface Options {
  viewers: number;
  seconds: number;
  warmup: number;
  json: boolean;
}

function parseOptions(argv: string[]): Options {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    options: {
      viewers: { type: "string", default: "6" },
      seconds: { type: "string", default: "15" },
      warmup: { type: "string", default: "5" },
      json: { type: "boolean", default: false },
    },
  });
  const viewers = int("viewers", values.viewers, 3, 48);
  if (viewers % 3 !== 0) throw new TypeError(`--viewers: expected a multiple of 3 (spread evenly over three nodes), got ${viewers}`);
  return Object.freeze({ viewers, seconds: int("seconds", values.seconds, 3, 120), warmup: int("warmup", values.warmup, 0, 60), json: values.json });
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

function log(msg: string): void {
  process.stderr.write(`[bench] ${msg}\n`);
}

/** What one phase measured. */
interface Phase {
  name: string;
  /** Viewers on A, B, C. */
  placement: [number, number, number];
  /** CPU of each node, % of one core. */
  cpuPct: [number, number, number];
  /** Relay legs open on each node at the end. */
  legs: [number, number, number];
  /** Video packets per second each viewer received, median. */
  viewerPpsMedian: number;
  /** The device's video packets per second into A. */
  inputPps: number;
  machineBusyPct: number;
}

interface Report {
  date: string;
  machine: ReturnType<typeof machineInfo>;
  viewers: number;
  windowS: number;
  phases: Phase[];
  /** CPU one viewer costs its node when the device is local (phase "all on A"), % of a core. */
  perLocalViewerPct: number;
  /** CPU a relay leg costs the relaying node beyond forwarding to its one viewer (phase "legs only"), % of a core. */
  legReceivePct: number;
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? 0 : s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

class Bench {
  readonly ticks = clockTicksPerSecond();
  redis: RedisServer | undefined;
  readonly nodes: ServerProcess[] = [];
  readonly dataDirs: string[] = [];
  device: WeriftDevice | undefined;
  viewers: { node: number; viewer: WeriftViewer }[] = [];
  private closing: Promise<void> | undefined;

  constructor(readonly opts: Options) {}

  async run(): Promise<Report> {
    const o = this.opts;
    this.redis = await RedisServer.start();
    const env = { ...process.env, UV_THREADPOOL_SIZE: "64" };
    for (const name of NODE_NAMES) {
      const dataDir = mkdtempSync(join(tmpdir(), "tessera-bench-cluster-"));
      this.dataDirs.push(dataDir);
      const args = ["--port", "0", "--source", "none", "--ice-host", "127.0.0.1", "--log-level", "info", "--redis", this.redis.url, "--data-dir", dataDir];
      const node = await ServerProcess.start(args, env);
      this.nodes.push(node);
      log(`node ${name}: pid ${node.pid} at ${node.httpUrl}`);
    }
    const [a] = this.nodes;
    this.device = await WeriftDevice.publish(a.wsUrl, {
      id: DEVICE_ID,
      name: "Cluster bench",
      source: { pattern: "smpte horizontal-speed=10", bitrateKbps: 2500, encoderThreads: 1 },
    });
    for (const node of this.nodes.slice(1)) {
      await waitForAsync(() => this.listedOnline(node), 15_000, "the device listed on every node");
    }
    log(`device publishing on A; warming up ${o.warmup} s`);
    await sleep(o.warmup * 1000);
    const phases: Phase[] = [await this.phase("idle", [0, 0, 0])];
    const n = o.viewers;
    phases.push(await this.phase("all on A", [n, 0, 0]));
    phases.push(await this.phase("spread", [n / 3, n / 3, n / 3]));
    phases.push(await this.phase("legs only", [0, 1, 1]));
    const [idle, allOnA, , legsOnly] = phases;
    const perLocalViewerPct = (allOnA.cpuPct[0] - idle.cpuPct[0]) / n;
    const legReceivePct = (legsOnly.cpuPct[1] - idle.cpuPct[1] + legsOnly.cpuPct[2] - idle.cpuPct[2]) / 2 - perLocalViewerPct;
    return { date: new Date().toISOString(), machine: machineInfo(), viewers: n, windowS: o.seconds, phases, perLocalViewerPct, legReceivePct };
  }

  private async listedOnline(node: ServerProcess): Promise<boolean> {
    const res = await fetch(`${node.httpUrl}/api/devices`);
    const { devices } = (await res.json()) as { devices: { id: string; online: boolean }[] };
    return devices.some((d) => d.id === DEVICE_ID && d.online);
  }

  /** Puts `placement` viewers on A, B and C (closing the previous phase's), warms up, and measures a window. */
  private async phase(name: string, placement: [number, number, number]): Promise<Phase> {
    for (const { viewer } of this.viewers) await bounded("closing a viewer", 3000, () => viewer.close());
    this.viewers = [];
    for (let node = 0; node < 3; node++) {
      for (let i = 0; i < placement[node]; i++) {
        const viewer = await WeriftViewer.connect(this.nodes[node].wsUrl);
        viewer.watch(DEVICE_ID);
        this.viewers.push({ node, viewer });
      }
    }
    const video = () => this.viewers.map(({ viewer }) => viewer.streams.get(DEVICE_ID)?.videoPackets ?? 0);
    if (this.viewers.length > 0) await waitFor(() => video().every((p) => p > 0), 20_000, `video at every viewer (${name})`);
    log(`${name}: viewers ${placement.join("/")} on A/B/C; warming up ${this.opts.warmup} s, measuring ${this.opts.seconds} s`);
    await sleep(this.opts.warmup * 1000);
    const cpu0 = this.nodes.map((s) => processCpuSeconds(s.pid, this.ticks));
    const machine0 = machineTicks();
    const video0 = video();
    const in0 = sumOf(parseMetrics(await this.nodes[0].metricsText()), "tessera_rtp_packets_total", { direction: "in", kind: "video" });
    const t0 = performance.now();
    await sleep(this.opts.seconds * 1000);
    const seconds = (performance.now() - t0) / 1000;
    const cpu1 = this.nodes.map((s) => processCpuSeconds(s.pid, this.ticks));
    const machine1 = machineTicks();
    const video1 = video();
    const metrics = await Promise.all(this.nodes.map(async (s) => parseMetrics(await s.metricsText())));
    const in1 = sumOf(metrics[0], "tessera_rtp_packets_total", { direction: "in", kind: "video" });
    const pct = (i: number) => (100 * (cpu1[i] - cpu0[i])) / seconds;
    return {
      name,
      placement,
      cpuPct: [pct(0), pct(1), pct(2)],
      legs: [0, 1, 2].map((i) => sumOf(metrics[i], "tessera_cluster_legs_open")) as [number, number, number],
      viewerPpsMedian: median(video1.map((v, i) => (v - video0[i]) / seconds)),
      inputPps: (in1 - in0) / seconds,
      machineBusyPct: 100 * machineBusy(machine0, machine1),
    };
  }

  close(): Promise<void> {
    return (this.closing ??= this.closeAll());
  }

  private async closeAll(): Promise<void> {
    for (const { viewer } of this.viewers) await bounded("closing a viewer", 3000, () => viewer.close());
    if (this.device) await bounded("closing the device", 3000, () => this.device!.close());
    for (const node of this.nodes) await bounded("stopping a node", 8000, () => node.stop());
    if (this.redis) await bounded("stopping Redis", 3000, () => this.redis!.close());
    for (const dir of this.dataDirs) rmSync(dir, { recursive: true, force: true });
  }
}

function print(r: Report): void {
  const f = (x: number) => x.toFixed(1);
  const lines = [
    `bench:cluster  ${r.date}  ${r.machine.cpuModel} (${r.machine.cores} cores)  ${r.viewers} viewers, ${r.windowS} s windows`,
    "phase        viewers A/B/C   CPU % A / B / C        legs A/B/C   viewer pps (median)   device pps   machine busy %",
  ];
  for (const p of r.phases) {
    lines.push(
      `${p.name.padEnd(12)} ${p.placement.join("/").padEnd(15)} ${p.cpuPct.map(f).join(" / ").padEnd(22)} ${p.legs.join("/").padEnd(12)} ${f(p.viewerPpsMedian).padEnd(21)} ${f(p.inputPps).padEnd(12)} ${f(p.machineBusyPct)}`,
    );
  }
  lines.push(`one local viewer costs its node ${f(r.perLocalViewerPct)} % of a core; a relay leg costs the relaying node ${f(r.legReceivePct)} % beyond that`);
  process.stdout.write(lines.join("\n") + "\n");
}

async function main(): Promise<void> {
  const opts = benchOptions("bench:cluster", "[--viewers 6] [--seconds 15] [--warmup 5] [--json]", () => parseOptions(process.argv.slice(2)));
  // Bound the whole run: set-up, warm-ups, windows, connecting viewers, closing.
  await runBench("bench:cluster", new Bench(opts), 120 + 4 * (2 * opts.warmup + opts.seconds) + 3 * opts.viewers, print, opts.json);
}

void main();
