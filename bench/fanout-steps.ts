/**
 * What the fan-out benches share: one server (Tessera, or Janus beside it)
 * with one publisher, and headers-only werift viewers (receiveMedia) added in
 * steps until they see loss. Per step, over a steady window: the server's CPU
 * per forwarded packet (raw, and minus the same server's CPU with no
 * viewers), loss from sequence gaps, datagrams dropped at full socket
 * buffers (the bench's, the server's), and server memory per viewer.
 */
import type { ReceivedStream } from "../e2e/lib/received-stream.js";
import { waitFor } from "../e2e/lib/signaling-client.js";
import { seqDiff } from "../server/relay/rtp.js";
import { clockTicksPerSecond, machineBusy, machineInfo, machineTicks, processCpuSeconds, processRssBytes, udpDrops, type MachineTicks } from "./proc.js";
import type { Sample } from "./prom.js";
import { intArg } from "./run.js";

/** Sequence-gap loss above which stepping stops: the server (or the machine) no longer keeps up. */
export const LOSS_STOP_PCT = 0.1;
/**
 * Delivery (received over published × viewers) below which stepping stops
 * too, %: a viewer the server stops sending to, or sends whole frames less
 * (a track waiting for a keyframe), leaves no gap in the sequence numbers it
 * sees. A window's edges move the figure by a few tenths either way.
 */
export const DELIVERY_STOP_PCT = 99;
/** A viewer that received less than this share of the publisher's video packets in a window is counted short. */
const SHORT_VIEWER = 0.9;
/** Viewers connected at once while stepping up. */
const CONNECT_BATCH = 8;
/** Sequence numbers a ReceivedStream keeps. */
const SEQ_CAP = 100_000;

/** One viewer of the server under test. */
export interface FanoutViewer {
  readonly stream: ReceivedStream;
  close(): Promise<void>;
}

/** The server under test and its publisher. */
export interface FanoutServer {
  /** "Tessera", "Janus": how reports name it. */
  readonly label: string;
  /** The server's process (CPU and memory are read from /proc). */
  readonly pid: number;
  running(): boolean;
  /** Packets (audio and video) and video packets the publisher has sent so far, and keyframes it was asked for. */
  published(): { packets: number; video: number; keyframeRequests: number };
  /** A new viewer, watching the publisher's stream. */
  connectViewer(): Promise<FanoutViewer>;
  /** The server's own metrics, read at each snapshot, when it has them. */
  metrics?(): Promise<Sample[]>;
  /** Stops the publisher and the server. */
  close(): Promise<void>;
}

/** How a run steps. */
export interface StepOptions {
  /** Viewer counts, ascending. */
  steps: readonly number[];
  seconds: number;
  warmup: number;
  baseline: number;
}

/** The parseArgs options every stepping bench takes besides `--viewers` (whose default is the bench's own). */
export const STEP_ARGS = {
  seconds: { type: "string", default: "20" },
  warmup: { type: "string", default: "5" },
  baseline: { type: "string" },
  pin: { type: "boolean", default: false },
  json: { type: "boolean", default: false },
} as const;

/** The stepping options from what parseArgs read; a TypeError names the option that is wrong. */
export function stepOptions(values: { viewers: string; seconds: string; warmup: string; baseline?: string; pin: boolean }): StepOptions & { pin: boolean } {
  const steps = values.viewers.split(",").map((n) => intArg("viewers", n.trim(), 1, 1000));
  if (steps.some((n, i) => i > 0 && n <= steps[i - 1])) throw new TypeError(`--viewers: expected ascending counts, got ${values.viewers}`);
  if (values.pin && machineInfo().cores < 2) throw new TypeError("--pin: needs two cores");
  // Viewers keep at most SEQ_CAP sequence numbers: bounds keep warm-ups and windows under that.
  const seconds = intArg("seconds", values.seconds, 1, 180);
  return {
    steps,
    seconds,
    warmup: intArg("warmup", values.warmup, 0, 60),
    baseline: intArg("baseline", values.baseline ?? String(seconds), 1, 180),
    pin: values.pin,
  };
}

/** Seconds one server's run may take at most: warm-ups, the baseline, every window, and connecting the viewers. */
export function stepsBudgetSeconds(o: StepOptions): number {
  const n = o.steps.length;
  return (1 + n) * o.warmup + o.baseline + n * (o.seconds + 10) + o.steps[n - 1];
}

/** Everything read at one instant. */
export interface Snapshot {
  atMs: number;
  serverCpuS: number;
  benchCpu: NodeJS.CpuUsage;
  machine: MachineTicks;
  metrics: Sample[];
  published: { packets: number; video: number; keyframeRequests: number };
  benchUdpDrops: number;
  serverUdpDrops: number;
  /** Per viewer: packets received so far and how many video sequence numbers were recorded. */
  viewers: { video: number; audio: number; seqs: number }[];
}

/** A measured stretch of time. */
export interface Window {
  start: Snapshot;
  end: Snapshot;
  rssMeanBytes: number;
}

/** One step's findings, in units a README can quote. */
export interface Step {
  viewers: number;
  windowS: number;
  /** What the publisher sent, per second: all packets, video packets. */
  inputPps: number;
  inputVideoPps: number;
  keyframeRequestsPerS: number;
  forwardedPps: number;
  perViewerPps: number;
  cpuUsPerPacketRaw: number;
  cpuUsPerPacketNet: number;
  serverCpuPct: number;
  benchCpuPct: number;
  machineBusyPct: number;
  /** CPU used by every other process on the machine, % of one core: the bench shares it. */
  otherCpuPct: number;
  lossSeqPct: number;
  /** Received over published × viewers. */
  deliveredPct: number;
  /** Viewers that received less than 90 % of the publisher's video packets in the window. */
  shortViewers: number;
  /** Datagrams the kernel dropped at full receive buffers in the window: the bench's sockets, the server's. */
  benchUdpDrops: number;
  serverUdpDrops: number;
  rssPerViewerMB: number;
  rssMB: number;
}

/** What a run found: the no-viewer baseline, each step, and why stepping stopped early. */
export interface Steps {
  baseline: Window;
  baselineCpuPct: number;
  rssBaselineMB: number;
  steps: Step[];
  window: Window[];
  /** Why stepping ended before the last count, if it did. */
  stopped?: string;
  /** The most viewers of a step with loss at or below LOSS_STOP_PCT and delivery at or above DELIVERY_STOP_PCT, if any. */
  maxViewersWithoutLoss: number | null;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Drives one server through the steps; `close()` closes the viewers (the server is the caller's). */
export class FanoutRun {
  private readonly ticks = clockTicksPerSecond();
  readonly viewers: FanoutViewer[] = [];

  constructor(
    private readonly server: FanoutServer,
    private readonly opts: StepOptions,
    private readonly log: (msg: string) => void,
  ) {}

  async run(): Promise<Steps> {
    const o = this.opts;
    const s = this.server;
    for (const deadline = Date.now() + 15_000; s.published().video === 0; await sleep(100)) {
      if (Date.now() > deadline) throw new Error(`the publisher sent ${s.label} no video within 15 s`);
    }
    this.log(`${s.label}: publishing; warming up ${o.warmup} s, then ${o.baseline} s baseline with no viewers`);
    await sleep(o.warmup * 1000);
    const baseline = await this.measure(o.baseline);
    const baseCpuRate = cpuRate(baseline);
    const steps: Step[] = [];
    const windows: Window[] = [];
    let stopped: string | undefined;
    for (const n of o.steps) {
      try {
        await this.connectUpTo(n);
      } catch (err) {
        stopped = `could not connect ${n} viewers: ${(err as Error).message}`;
        break;
      }
      this.log(`${s.label}: ${n} viewers receive video; warming up ${o.warmup} s, then measuring ${o.seconds} s`);
      await sleep(o.warmup * 1000);
      const w = await this.measure(o.seconds);
      const step = summarizeStep(baseCpuRate, baseline.rssMeanBytes, w, this.viewers);
      steps.push(step);
      windows.push(w);
      this.log(`${s.label}: ${n} viewers: ${step.cpuUsPerPacketNet.toFixed(1)} µs/packet net, loss ${step.lossSeqPct.toFixed(3)} %`);
      const failed = stepFailed(step);
      if (failed) {
        stopped = `${failed} at ${n} viewers`;
        break;
      }
    }
    const clean = steps.filter((x) => stepFailed(x) === undefined);
    return {
      baseline,
      baselineCpuPct: baseCpuRate * 100,
      rssBaselineMB: baseline.rssMeanBytes / 2 ** 20,
      steps,
      window: windows,
      ...(stopped ? { stopped } : {}),
      maxViewersWithoutLoss: clean.length > 0 ? clean[clean.length - 1].viewers : null,
    };
  }

  /** Connects viewers, a batch at a time, until there are `n`, and waits for video at each. */
  private async connectUpTo(n: number): Promise<void> {
    this.log(`${this.server.label}: connecting viewers up to ${n}`);
    while (this.viewers.length < n) {
      const batch = Math.min(CONNECT_BATCH, n - this.viewers.length);
      const joined = await Promise.allSettled(Array.from({ length: batch }, () => this.server.connectViewer()));
      for (const r of joined) if (r.status === "fulfilled") this.viewers.push(r.value);
      const failed = joined.find((r): r is PromiseRejectedResult => r.status === "rejected");
      if (failed) throw failed.reason;
      const fresh = this.viewers.slice(-batch);
      await waitFor(() => fresh.every((v) => v.stream.videoPackets > 0), 20_000, `video at viewers ${this.viewers.length - batch + 1}..${this.viewers.length}`);
    }
  }

  private async snapshot(): Promise<Snapshot> {
    const s = this.server;
    return {
      atMs: performance.now(),
      serverCpuS: processCpuSeconds(s.pid, this.ticks),
      benchCpu: process.cpuUsage(),
      machine: machineTicks(),
      metrics: (await s.metrics?.()) ?? [],
      published: s.published(),
      benchUdpDrops: udpDrops(process.pid),
      serverUdpDrops: udpDrops(s.pid),
      viewers: this.viewers.map(({ stream }) => ({ video: stream.videoPackets, audio: stream.audioPackets, seqs: stream.videoSeqs.length })),
    };
  }

  /** Measures `seconds`, sampling the server's RSS once a second. */
  private async measure(seconds: number): Promise<Window> {
    const start = await this.snapshot();
    const rss: number[] = [];
    const endAt = start.atMs + seconds * 1000;
    while (performance.now() < endAt) {
      await sleep(Math.min(1000, endAt - performance.now()));
      if (!this.server.running()) throw new Error(`${this.server.label} exited during the window`);
      rss.push(processRssBytes(this.server.pid));
    }
    const end = await this.snapshot();
    return { start, end, rssMeanBytes: rss.reduce((a, b) => a + b, 0) / Math.max(1, rss.length) };
  }

  /** Closes every viewer, each bounded in time by the caller's `bounded`. */
  async close(bounded: (what: string, ms: number, fn: () => Promise<unknown>) => Promise<void>): Promise<void> {
    await Promise.all(this.viewers.map((v) => bounded("closing a viewer", 3000, () => v.close())));
    this.viewers.length = 0;
  }
}

const windowSeconds = (w: Window) => (w.end.atMs - w.start.atMs) / 1000;
const cpuRate = (w: Window) => (w.end.serverCpuS - w.start.serverCpuS) / windowSeconds(w);

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

/** Why a step counts as lost, or undefined when the viewers got what was published. */
function stepFailed(step: Step): string | undefined {
  if (step.lossSeqPct > LOSS_STOP_PCT) return `loss above ${LOSS_STOP_PCT} %`;
  if (step.deliveredPct < DELIVERY_STOP_PCT) return `delivery below ${DELIVERY_STOP_PCT} % (${step.shortViewers} viewers short)`;
  return undefined;
}

function summarizeStep(baseCpuRate: number, baseRssBytes: number, w: Window, viewers: readonly FanoutViewer[]): Step {
  const t = windowSeconds(w);
  const cpuS = w.end.serverCpuS - w.start.serverCpuS;
  let received = 0;
  let expected = 0;
  let lost = 0;
  let short = 0;
  const publishedVideo = w.end.published.video - w.start.published.video;
  viewers.forEach(({ stream }, i) => {
    const a = w.start.viewers[i];
    const b = w.end.viewers[i];
    received += b.video - a.video + (b.audio - a.audio);
    if (b.video - a.video < SHORT_VIEWER * publishedVideo) short++;
    if (b.seqs >= SEQ_CAP) throw new Error(`a viewer recorded ${SEQ_CAP} sequence numbers, its cap: use fewer steps or shorter windows`);
    const l = seqLoss(stream.videoSeqs.slice(a.seqs, b.seqs));
    expected += l.expected;
    lost += l.lost;
  });
  const published = w.end.published.packets - w.start.published.packets;
  const benchCpuUs = w.end.benchCpu.user + w.end.benchCpu.system - (w.start.benchCpu.user + w.start.benchCpu.system);
  const busy = machineBusy(w.start.machine, w.end.machine);
  return {
    viewers: viewers.length,
    windowS: t,
    inputPps: published / t,
    inputVideoPps: (w.end.published.video - w.start.published.video) / t,
    keyframeRequestsPerS: (w.end.published.keyframeRequests - w.start.published.keyframeRequests) / t,
    forwardedPps: received / t,
    perViewerPps: received / t / viewers.length,
    cpuUsPerPacketRaw: (cpuS * 1e6) / received,
    cpuUsPerPacketNet: ((cpuS - baseCpuRate * t) * 1e6) / received,
    serverCpuPct: (cpuS / t) * 100,
    benchCpuPct: benchCpuUs / 1e4 / t,
    machineBusyPct: busy * 100,
    otherCpuPct: busy * machineInfo().cores * 100 - (cpuS / t) * 100 - benchCpuUs / 1e4 / t,
    lossSeqPct: expected > 0 ? (lost / expected) * 100 : 0,
    deliveredPct: published > 0 ? (received / (published * viewers.length)) * 100 : 0,
    shortViewers: short,
    benchUdpDrops: w.end.benchUdpDrops - w.start.benchUdpDrops,
    serverUdpDrops: w.end.serverUdpDrops - w.start.serverUdpDrops,
    rssPerViewerMB: (w.rssMeanBytes - baseRssBytes) / viewers.length / 2 ** 20,
    rssMB: w.rssMeanBytes / 2 ** 20,
  };
}

/** A number for a table: `d` decimals, "n/a" for none. */
export const fmt = (n: number | null | undefined, d = 1) => (n === null || n === undefined || !Number.isFinite(n) ? "n/a" : n.toFixed(d));

/** One line per step of what else the window saw (publisher, CPU split, drops). */
export function stepDetails(label: string, steps: readonly Step[]): string {
  return steps
    .map(
      (s) =>
        `  ${label}, ${s.viewers} viewers: publisher ${fmt(s.inputPps)} packets/s (video ${fmt(s.inputVideoPps)}), ${fmt(s.keyframeRequestsPerS, 2)} keyframe requests/s; ` +
        `server ${fmt(s.serverCpuPct)} %, bench ${fmt(s.benchCpuPct)} %, others ${fmt(s.otherCpuPct)} % of a core (machine ${fmt(s.machineBusyPct)} % busy); ` +
        `delivered ${fmt(s.deliveredPct, 2)} % of published × viewers (${s.shortViewers} viewers short of 90 %); dropped at full UDP buffers: bench ${s.benchUdpDrops}, server ${s.serverUdpDrops}\n`,
    )
    .join("");
}
