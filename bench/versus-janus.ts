/**
 * Tessera and Janus side by side: the same publisher (the test source's
 * high-motion VP8 720p30 and Opus) and the same headers-only werift viewers,
 * stepped up (bench/fanout-steps.ts) first against Tessera, then against
 * Janus's streaming plugin, in one run. Prints each server's CPU per
 * forwarded packet and the Tessera/Janus ratios, of that and of the most
 * viewers served without loss.
 *
 *   npm run bench:versus-janus -- [--viewers 16,100] [--seconds 20] [--warmup 5] [--pin] [--json]
 *
 * Janus never gathers loopback candidates, so the bench makes two network
 * namespaces joined by a veth pair (nothing reaches outside), as two hosts:
 * the servers run in one (10.99.1.1), the bench re-runs itself in the other
 * (10.99.1.2), and every packet crosses the pair both ways, for both
 * servers. Tessera's device publishes over WebRTC (SRTP in); Janus's
 * mountpoint takes the same stream as plain RTP, so its input costs less,
 * which the "minus baseline" figures take out. Needs root, iproute2 and
 * Debian's `janus` (`npm run bench:versus-janus` installs it, as the other
 * set-up, through scripts/bootstrap.mjs --bench).
 */
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { createNetnsPair, netnsUnavailable } from "../e2e/lib/netns.js";
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
  type Steps,
} from "./fanout-steps.js";
import { benchOptions } from "./args.js";
import { janusMissing, startJanus } from "./janus-target.js";
import { machineInfo, pin } from "./proc.js";
import { bounded, runBench } from "./run.js";
import { startTessera } from "./tessera-target.js";

const INSIDE = "TESSERA_BENCH_NETNS";
const SERVER_HOST = "10.99.1.1";
const PEER_HOST = "10.99.1.2";
const SOURCE = { pattern: "smpte horizontal-speed=10", bitrateKbps: 2500, encoderThreads: 1 };

interface Options extends StepOptions {
  pin: boolean;
  json: boolean;
}

const USAGE = "[--viewers 16,100] [--seconds 20] [--warmup 5] [--baseline SECONDS] [--pin] [--json]";

function parseOptions(argv: string[]): Options {
  const { values } = parseArgs({ args: argv, strict: true, options: { viewers: { type: "string", default: "16,100" }, ...STEP_ARGS } });
  return Object.freeze({ ...stepOptions(values), json: values.json });
}

type Findings = Omit<Steps, "baseline" | "window">;

interface Report {
  date: string;
  machine: ReturnType<typeof machineInfo>;
  pinned: boolean;
  tessera: Findings;
  janus: Findings;
  /** Per viewer count both servers reached: Tessera's CPU per packet over Janus's, raw and minus baseline. */
  ratios: { viewers: number; raw: number; net: number }[];
  /** Tessera's most viewers without loss over Janus's, when both have one. */
  maxViewersRatio: number | null;
}

class Versus {
  private server: FanoutServer | undefined;
  private fanout: FanoutRun | undefined;
  private closing: Promise<void> | undefined;

  constructor(private readonly opts: Options) {}

  async run(): Promise<Report> {
    const o = this.opts;
    const wrap = ["ip", "netns", "exec", process.env[INSIDE]!, ...(o.pin ? ["taskset", "-c", "0"] : [])];
    if (o.pin) pin(process.pid, 1);
    const tessera = await this.measure(() => startTessera({ codec: "vp8", source: SOURCE, serverHost: SERVER_HOST, peerHost: PEER_HOST, wrap }));
    const janus = await this.measure(() => startJanus({ source: SOURCE, interfaceName: "va", host: SERVER_HOST, peerHost: PEER_HOST, wrap }));
    const ratios = tessera.steps.flatMap((t) => {
      const j = janus.steps.find((s) => s.viewers === t.viewers);
      return j ? [{ viewers: t.viewers, raw: t.cpuUsPerPacketRaw / j.cpuUsPerPacketRaw, net: t.cpuUsPerPacketNet / j.cpuUsPerPacketNet }] : [];
    });
    return {
      date: new Date().toISOString(),
      machine: machineInfo(),
      pinned: o.pin,
      tessera,
      janus,
      ratios,
      maxViewersRatio: tessera.maxViewersWithoutLoss && janus.maxViewersWithoutLoss ? tessera.maxViewersWithoutLoss / janus.maxViewersWithoutLoss : null,
    };
  }

  /** Starts one server, steps its viewers up, and closes it all again. */
  private async measure(start: () => Promise<FanoutServer>): Promise<Findings> {
    this.server = await start();
    log(`${this.server.label} pid ${this.server.pid}`);
    this.fanout = new FanoutRun(this.server, this.opts, log);
    try {
      const { baseline: _b, window: _w, ...findings } = await this.fanout.run();
      return findings;
    } finally {
      await this.closeServer();
    }
  }

  private async closeServer(): Promise<void> {
    await this.fanout?.close(bounded);
    await this.server?.close();
    this.fanout = undefined;
    this.server = undefined;
  }

  close(): Promise<void> {
    return (this.closing ??= this.closeServer());
  }
}

function print(r: Report): void {
  const m = r.machine;
  const row = (label: string, f: Findings) =>
    f.steps
      .map(
        (s) =>
          `| ${label} | ${s.viewers} | ${fmt(s.forwardedPps, 0)} | ${fmt(s.cpuUsPerPacketRaw)} | ${fmt(s.cpuUsPerPacketNet)} | ${fmt(s.lossSeqPct, 3)} | ${fmt(s.serverCpuPct)} | ${fmt(s.rssPerViewerMB, 2)} |`,
      )
      .join("\n");
  process.stdout.write(
    `\nTessera versus Janus, ${r.date}\n  ${m.cpuModel}, ${m.cores} cores, Linux ${m.kernel}, Node ${m.node}${r.pinned ? "; servers on core 0, bench on core 1" : ""}\n` +
      `  no viewers: Tessera ${fmt(r.tessera.baselineCpuPct)} % of a core, ${fmt(r.tessera.rssBaselineMB)} MB; Janus ${fmt(r.janus.baselineCpuPct)} %, ${fmt(r.janus.rssBaselineMB)} MB\n` +
      stepDetails("Tessera", r.tessera.steps) +
      stepDetails("Janus", r.janus.steps) +
      (r.tessera.stopped ? `  Tessera stopped: ${r.tessera.stopped}\n` : "") +
      (r.janus.stopped ? `  Janus stopped: ${r.janus.stopped}\n` : "") +
      `\n| server | viewers | packets fwd/s | CPU µs/pkt raw | CPU µs/pkt − baseline | loss % | server CPU % | RSS/viewer MB |\n|---|---|---|---|---|---|---|---|\n` +
      `${row("Tessera", r.tessera)}\n${row("Janus", r.janus)}\n\n` +
      r.ratios.map((x) => `  Tessera/Janus CPU per packet at ${x.viewers} viewers: ${fmt(x.raw, 2)} raw, ${fmt(x.net, 2)} minus baseline\n`).join("") +
      `  most viewers with loss ≤ ${LOSS_STOP_PCT} % and delivery ≥ ${DELIVERY_STOP_PCT} %: Tessera ${r.tessera.maxViewersWithoutLoss ?? "none"}, Janus ${r.janus.maxViewersWithoutLoss ?? "none"}` +
      `${r.maxViewersRatio === null ? "" : ` (ratio ${fmt(r.maxViewersRatio, 2)})`}\n`,
  );
}

function log(msg: string): void {
  process.stderr.write(`[bench] ${msg}\n`);
}

/** Outside the namespaces: make them, run this file in the client one, tear them down. */
async function outside(argv: string[]): Promise<never> {
  const why = netnsUnavailable();
  if (why) {
    process.stderr.write(`bench:versus-janus: ${why}\n`);
    process.exit(2);
  }
  const missing = janusMissing();
  if (missing) {
    process.stderr.write(`bench:versus-janus: ${missing} (npm run bench:versus-janus installs it when run as root)\n`);
    process.exit(2);
  }
  const pair = await createNetnsPair("bj");
  const child = spawn(pair.client.exec[0], [...pair.client.exec.slice(1), process.execPath, fileURLToPath(import.meta.url), ...argv], {
    stdio: "inherit",
    env: { ...process.env, [INSIDE]: pair.server.name },
  });
  const code = await new Promise<number>((resolve) => child.once("exit", (c, signal) => resolve(c ?? (signal ? 1 : 0))));
  await pair.destroy();
  process.exit(code);
}

async function main(): Promise<void> {
  const opts = benchOptions("bench:versus-janus", USAGE, () => parseOptions(process.argv.slice(2)));
  if (!process.env[INSIDE]) return void (await outside(process.argv.slice(2)));
  const perServer = 30 + stepsBudgetSeconds(opts);
  await runBench("bench:versus-janus", new Versus(opts), 2 * perServer, print, opts.json);
}

void main();
