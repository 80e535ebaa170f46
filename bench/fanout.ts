/**
 * Fan-out bench: one werift device publishing a high-motion 720p30 VP8
 * stream to a Tessera server in a child process, and werift viewers watching
 * it, in steps (e.g. 1, 16, 100, 300) until the viewers see loss. Per step,
 * over a steady window: the server's CPU per forwarded packet (raw and minus
 * a zero-viewer baseline), the viewers' loss, the relay's forward latency,
 * and server memory per viewer.
 *
 *   npm run bench:fanout -- --viewers 1,16,100 --seconds 20 [--warmup 5]
 *     [--baseline S] [--codec vp8|h264] [--bitrate 2500] [--pattern P] [--replay 10] [--pin] [--json]
 *
 * The viewers finish ICE and DTLS with werift, then count each packet by
 * its RTP header without decrypting it (receiveMedia's headersOnly), so they
 * cost far less per packet than the server: loss is what the relay failed to
 * send, never repaired by NACKs. Datagrams the kernel dropped at the bench's
 * own sockets are read from /proc and reported apart, so the load
 * generator's overload is never taken for the server's. The publisher
 * encodes for the first seconds only and then loops `--replay` seconds of
 * what its encoder made (0: it encodes throughout): the encoder took more
 * than half of the bench's core, which then ran out before the server's.
 * With --pin the server runs on core 0 and the bench on core 1 (taskset).
 */
import { parseArgs } from "node:util";
import {
  FanoutRun,
  DELIVERY_STOP_PCT,
  LOSS_STOP_PCT,
  STEP_ARGS,
  fmt,
  stepDetails,
  stepOptions,
  stepsBudgetSeconds,
  type FanoutServer,
  type StepOptions,
  type Step,
  type Steps,
  type Window,
} from "./fanout-steps.js";
import { benchOptions } from "./args.js";
import { machineInfo, pin } from "./proc.js";
import { bucketDelta, bucketQuantile, bucketShareAtMost, bucketsOf, sumOf } from "./prom.js";
import { bounded, intArg as int, runBench } from "./run.js";
import { startTessera } from "./tessera-target.js";

/**
 * High motion, so the encoder spends its budget. TESTING.md's plain vp8enc gives ≈2.4 Mb/s
 * with it; the test device's error-resilient VP8 with overlays gives ≈3.1 Mb/s, ≈340 video
 * packets/s, and no lower even at a 1 Mb/s target.
 */
const SOURCE_PATTERN = "smpte horizontal-speed=10";
/** A videotestsrc pattern and its properties: words, `=`, digits, `-`, `_` and `.` only (it goes into a pipeline). */
const PATTERN_SYNTAX = /^[a-z][a-z0-9]*(?: [a-z-]+=[a-z0-9_.-]+)*$/i;
const LATENCY = "tessera_forward_latency_seconds";
const BYTES = "tessera_rtp_payload_bytes_total";

/** Bench options, parsed once. */
interface Options extends StepOptions {
  codec: "vp8" | "h264";
  /** Encoder target, kb/s. */
  bitrate: number;
  /** The publisher's videotestsrc pattern. */
  pattern: string;
  /** Seconds of the encoder's output the publisher loops; 0: it encodes throughout. */
  replay: number;
  /** Server on core 0, bench on core 1. */
  pin: boolean;
  json: boolean;
}

const USAGE =
  "[--viewers 1,16,100] [--seconds 20] [--warmup 5] [--baseline SECONDS] [--codec vp8|h264] [--bitrate KBPS] [--pattern 'smpte75 horizontal-speed=10'] [--replay SECONDS] [--pin] [--json]";

function parseOptions(argv: string[]): Options {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    options: {
      viewers: { type: "string", default: "1,16,100" },
      codec: { type: "string", default: "vp8" },
      bitrate: { type: "string", default: "2500" },
      pattern: { type: "string", default: SOURCE_PATTERN },
      replay: { type: "string", default: "10" },
      ...STEP_ARGS,
    },
  });
  if (values.codec !== "vp8" && values.codec !== "h264") throw new TypeError(`--codec: expected vp8 or h264, got ${values.codec}`);
  if (!PATTERN_SYNTAX.test(values.pattern))
    throw new TypeError(`--pattern: expected a videotestsrc pattern like "smpte horizontal-speed=10", got ${JSON.stringify(values.pattern)}`);
  return Object.freeze({
    ...stepOptions(values),
    pattern: values.pattern,
    codec: values.codec,
    bitrate: int("bitrate", values.bitrate, 100, 20_000),
    replay: int("replay", values.replay, 0, 60),
    json: values.json,
  });
}

/** A step with what only Tessera's metrics tell: payload rate in, NACKs, the relay's forward latency. */
interface TesseraStep extends Step {
  inputMbps: number;
  nacksPerS: number;
  latencyP50Ms: number | null;
  latencyP99Ms: number | null;
  /** Forwards that took at most 1 ms, % (a bucket bound: exact, not interpolated). */
  latencyWithin1msPct: number | null;
}

/** The whole run. */
interface Report extends Omit<Steps, "baseline" | "window" | "steps"> {
  date: string;
  machine: ReturnType<typeof machineInfo>;
  codec: string;
  targetKbps: number;
  pattern: string;
  /** Seconds of encoder output the publisher looped, 0 for a live encoder. */
  replaySeconds: number;
  pinned: boolean;
  steps: TesseraStep[];
}

function withMetrics(step: Step, w: Window): TesseraStep {
  const delta = (name: string, match: Record<string, string> = {}) => sumOf(w.end.metrics, name, match) - sumOf(w.start.metrics, name, match);
  const latency = bucketDelta(bucketsOf(w.start.metrics, LATENCY), bucketsOf(w.end.metrics, LATENCY));
  const ms = (q: number) => {
    const v = bucketQuantile(latency, q);
    return v === undefined ? null : v * 1000;
  };
  const within1ms = bucketShareAtMost(latency, 0.001);
  return {
    ...step,
    inputMbps: (delta(BYTES, { direction: "in" }) * 8) / step.windowS / 1e6,
    nacksPerS: delta("tessera_nacks_received_total") / step.windowS,
    latencyP50Ms: ms(0.5),
    latencyP99Ms: ms(0.99),
    latencyWithin1msPct: within1ms === undefined ? null : within1ms * 100,
  };
}

class Bench {
  private target: FanoutServer | undefined;
  private fanout: FanoutRun | undefined;
  private closing: Promise<void> | undefined;

  constructor(readonly opts: Options) {}

  async run(): Promise<Report> {
    const o = this.opts;
    if (o.pin) {
      // Before anything starts: the device's GStreamer threads and werift's sockets inherit core 1.
      pin(process.pid, 1);
      log("bench pinned to core 1, server to core 0");
    }
    this.target = await startTessera({
      codec: o.codec,
      // One encoder thread: with two, libvpx's CBR swings between 0.4 and 8 Mb/s per 2 s on this machine.
      source: { pattern: o.pattern, bitrateKbps: o.bitrate, encoderThreads: 1 },
      wrap: o.pin ? ["taskset", "-c", "0"] : undefined,
      replaySeconds: o.replay || undefined,
    });
    log(`server pid ${this.target.pid}`);
    this.fanout = new FanoutRun(this.target, o, log);
    const { baseline: _baseline, window, steps, ...rest } = await this.fanout.run();
    return {
      date: new Date().toISOString(),
      machine: machineInfo(),
      codec: o.codec,
      targetKbps: o.bitrate,
      pattern: o.pattern,
      replaySeconds: o.replay,
      pinned: o.pin,
      ...rest,
      steps: steps.map((s, i) => withMetrics(s, window[i])),
    };
  }

  /** Closes peers and the server, each bounded in time; idempotent, and safe after a failure. */
  close(): Promise<void> {
    return (this.closing ??= (async () => {
      await this.fanout?.close(bounded);
      await this.target?.close();
    })());
  }
}

function print(r: Report): void {
  const m = r.machine;
  process.stdout.write(
    `\nTessera fan-out bench, ${r.date}\n  ${m.cpuModel}, ${m.cores} cores, Linux ${m.kernel}, Node ${m.node}; ${r.codec} of "${r.pattern}" at a ${r.targetKbps} kb/s target` +
      (r.replaySeconds > 0 ? `, ${r.replaySeconds} s of it looped` : ", encoded throughout") +
      `${r.pinned ? "; server on core 0, bench on core 1" : ""}\n  no viewers: server ${fmt(r.baselineCpuPct)} % of a core, ${fmt(r.rssBaselineMB)} MB RSS\n` +
      stepDetails("Tessera", r.steps) +
      `  payload into the server: ${r.steps.map((s) => `${fmt(s.inputMbps, 2)}`).join(", ")} Mb/s; forwards within 1 ms: ${r.steps.map((s) => `${fmt(s.latencyWithin1msPct, 2)}`).join(", ")} %\n` +
      (r.stopped ? `  stopped: ${r.stopped}\n` : ""),
  );
  process.stdout.write(
    `\n| viewers | packets fwd/s | CPU µs/pkt raw | CPU µs/pkt − baseline | loss % | NACKs/s | p50 / p99 fwd latency ms | RSS/viewer MB |\n|---|---|---|---|---|---|---|---|\n` +
      r.steps
        .map(
          (s) =>
            `| ${s.viewers} | ${fmt(s.forwardedPps, 0)} | ${fmt(s.cpuUsPerPacketRaw)} | ${fmt(s.cpuUsPerPacketNet)} | ${fmt(s.lossSeqPct, 3)} | ${fmt(s.nacksPerS, 1)} | ${fmt(s.latencyP50Ms, 2)} / ${fmt(s.latencyP99Ms, 2)} | ${fmt(s.rssPerViewerMB, 2)} |`,
        )
        .join("\n") +
      `\n\nmost viewers with loss ≤ ${LOSS_STOP_PCT} % and delivery ≥ ${DELIVERY_STOP_PCT} %: ${r.maxViewersWithoutLoss ?? "none"}\n`,
  );
}

function log(msg: string): void {
  process.stderr.write(`[bench] ${msg}\n`);
}

async function main(): Promise<void> {
  const opts = benchOptions("bench:fanout", USAGE, () => parseOptions(process.argv.slice(2)));
  if (Number(process.env.UV_THREADPOOL_SIZE ?? 4) < 8) {
    // The device's pipeline holds three threadpool threads (two appsink pulls, the bus).
    log("warning: UV_THREADPOOL_SIZE is below 8; the publisher's pipeline may stall (npm run bench:fanout sets 16)");
  }
  // Bound the whole run: set-up, warm-ups, windows, connecting viewers, closing.
  await runBench("bench:fanout", new Bench(opts), 60 + stepsBudgetSeconds(opts), print, opts.json);
}

void main();
