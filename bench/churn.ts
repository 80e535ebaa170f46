/**
 * Churn: viewers, devices and WHIP sessions joining and leaving one server,
 * one at a time, and whether the server gives everything back: RSS against
 * its baseline, and every count (peer connections, werift listeners,
 * pipelines, limits in use, Node's active UDP/TCP sockets and timers)
 * back where it was.
 *
 * First, what an idle WebRTC viewer costs: `--idle` viewers connect, one
 * after another, to a device that has stopped sending (a still screen), and
 * RSS is read before, with all of them connected, and after they left.
 *
 * Every RSS before and after is read just after a full garbage collection
 * in the server (through its inspector), so what it shows is memory still
 * held, not garbage V8 had not come round to yet.
 *
 *   npm run bench:churn -- --idle 200 --viewers 1000 --fallback 1000 --devices 200 --whip 200
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { waitFor } from "../e2e/lib/signaling-client.js";
import { WeriftDevice, WeriftViewer } from "../e2e/lib/werift-peers.js";
import { benchOptions } from "./args.js";
import { census, churn, settle, type Census, type ChurnKind } from "./churn-cycles.js";
import { machineInfo, processRssBytes } from "./proc.js";
import { intArg, runBench } from "./run.js";
import { ServerProcess } from "./server-process.js";

const { values, plan, settleS, idleViewers } = benchOptions(
  "bench:churn",
  "[--idle 200] [--viewers 1000] [--fallback 1000] [--devices 200] [--whip 200] [--settle 45] [--json]",
  () => {
    const { values } = parseArgs({
      options: {
        idle: { type: "string", default: "200" },
        viewers: { type: "string", default: "1000" },
        fallback: { type: "string", default: "1000" },
        devices: { type: "string", default: "200" },
        whip: { type: "string", default: "200" },
        settle: { type: "string", default: "45" },
        json: { type: "boolean", default: false },
      },
    });
    const plan: Array<[ChurnKind, number]> = [
      ["webrtc-viewer", intArg("viewers", values.viewers, 0, 100_000)],
      ["fallback-viewer", intArg("fallback", values.fallback, 0, 100_000)],
      ["device", intArg("devices", values.devices, 0, 10_000)],
      ["whip", intArg("whip", values.whip, 0, 10_000)],
    ];
    return { values, plan, settleS: intArg("settle", values.settle, 1, 600), idleViewers: intArg("idle", values.idle, 0, 2000) };
  },
);
/** Cycles of each kind before the baseline: first-use allocations (codecs, pools) are not leaks. */
const WARMUP = 5;

interface Row {
  kind: ChurnKind;
  cycles: number;
  cycleMsP50: number;
  rssBaseMb: number;
  rssAfterMb: number;
  rssGrowthPct: number;
  heapUsedBaseMb: number;
  heapUsedAfterMb: number;
  settledMs: number;
  /** Counts not back at their baseline after the settle time. */
  left: Record<string, { base: number; now: number }>;
}

/** RSS with no viewer, with `viewers` idle viewers connected, and after they left. */
interface Idle {
  viewers: number;
  rssBaseMb: number;
  rssConnectedMb: number;
  rssPerViewerMb: number;
  rssAfterMb: number;
}

/** The server's census just after a full garbage collection. */
async function collected(server: ServerProcess): Promise<Census> {
  await server.collectGarbage();
  return census(server);
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;
const mb = (b: number) => Math.round((b / 1048576) * 10) / 10;

class ChurnBench {
  private server: ServerProcess | undefined;
  private readonly dataDir = mkdtempSync(join(tmpdir(), "tessera-churn-"));

  async run(): Promise<Report> {
    const server = await ServerProcess.start(
      ["--port", "0", "--source", "test", "--ice-host", "127.0.0.1", "--data-dir", this.dataDir],
      {
        ...process.env,
        UV_THREADPOOL_SIZE: "128",
      },
      { inspector: true },
    );
    this.server = server;
    const idle = idleViewers > 0 ? await this.idle(server, idleViewers) : undefined;
    const rows: Row[] = [];
    for (const [kind, n] of plan) {
      if (n === 0) continue;
      await churn(server, kind, WARMUP);
      // The baseline once the warm-up's own leftovers are gone (werift ends a closed peer's timers within ~30 s).
      const idle = await settle(server, await census(server), 1000);
      await settle(server, idle.census, settleS * 1000);
      const base = await collected(server);
      process.stderr.write(`[churn] ${kind}: ${n} cycles from RSS ${mb(base.rssBytes)} MB\n`);
      const times = await churn(server, kind, n, (done) => {
        if (done % 100 === 0) process.stderr.write(`[churn] ${kind}: ${done}/${n}\n`);
      });
      const settled = await settle(server, base, settleS * 1000);
      const after = { ...settled, census: await collected(server) };
      rows.push({
        kind,
        cycles: n,
        cycleMsP50: Math.round(median(times)),
        rssBaseMb: mb(base.rssBytes),
        rssAfterMb: mb(after.census.rssBytes),
        rssGrowthPct: Math.round(((after.census.rssBytes - base.rssBytes) / base.rssBytes) * 1000) / 10,
        heapUsedBaseMb: mb(base.heapUsedBytes),
        heapUsedAfterMb: mb(after.census.heapUsedBytes),
        settledMs: Math.round(after.ms),
        left: after.left,
      });
    }
    return { machine: machineInfo(), idle, rows };
  }

  /** Idle viewers of a device that stopped sending: RSS before, with all connected (ICE and DTLS up), and once they left. */
  private async idle(server: ServerProcess, n: number): Promise<Idle> {
    const device = await WeriftDevice.publish(server.wsUrl, { id: "still", source: { width: 320, height: 180 } });
    const viewers: WeriftViewer[] = [];
    try {
      // Its tracks reach the server with their first packets; then it goes quiet.
      await waitFor(() => device.packetsSent > 30 && device.audioPacketsSent > 10, 10_000, "the device's first packets");
      device.paused = true;
      await settle(server, await census(server), 2000);
      const base = await collected(server);
      for (let i = 0; i < n; i++) {
        const v = await WeriftViewer.connect(server.wsUrl);
        viewers.push(v);
        v.watch("still");
        await waitFor(() => v.streams.get("still")?.pc.connectionState === "connected", 10_000, `idle viewer ${i + 1} connected`);
        if ((i + 1) % 50 === 0) process.stderr.write(`[churn] idle: ${i + 1}/${n} viewers connected\n`);
      }
      // Let timers and first-use allocations settle, then read RSS a few times.
      await server.collectGarbage();
      const samples: number[] = [];
      for (let i = 0; i < 5; i++) {
        await new Promise((r) => setTimeout(r, 1000));
        samples.push(processRssBytes(server.pid));
      }
      const connected = median(samples);
      for (const v of viewers.splice(0)) await v.close();
      await settle(server, base, settleS * 1000);
      const after = await collected(server);
      return {
        viewers: n,
        rssBaseMb: mb(base.rssBytes),
        rssConnectedMb: mb(connected),
        rssPerViewerMb: Math.round(((connected - base.rssBytes) / n / 1048576) * 100) / 100,
        rssAfterMb: mb(after.rssBytes),
      };
    } finally {
      for (const v of viewers) await v.close();
      await device.close();
    }
  }

  async close(): Promise<void> {
    await this.server?.stop();
    rmSync(this.dataDir, { recursive: true, force: true });
  }
}

interface Report {
  machine: ReturnType<typeof machineInfo>;
  idle: Idle | undefined;
  rows: Row[];
}

function print(report: Report): void {
  const m = report.machine;
  process.stdout.write(`churn on ${m.cpuModel} (${m.cores} cores), Node ${m.node}\n`);
  const i = report.idle;
  if (i)
    process.stdout.write(
      `idle WebRTC viewers: ${i.viewers}; RSS ${i.rssBaseMb} MB before, ${i.rssConnectedMb} MB with all connected (${i.rssPerViewerMb} MB per viewer), ${i.rssAfterMb} MB after they left\n`,
    );
  process.stdout.write(
    "| kind | cycles | cycle p50 ms | RSS base MB | RSS after MB | growth | JS heap MB | counts back | not back |\n|---|---|---|---|---|---|---|---|---|\n",
  );
  for (const r of report.rows) {
    const left = Object.entries(r.left).map(([k, v]) => `${k} ${v.base}→${v.now}`);
    process.stdout.write(
      `| ${r.kind} | ${r.cycles} | ${r.cycleMsP50} | ${r.rssBaseMb} | ${r.rssAfterMb} | ${r.rssGrowthPct} % | ${r.heapUsedBaseMb} → ${r.heapUsedAfterMb} | ${left.length ? "no" : `yes, in ${(r.settledMs / 1000).toFixed(1)} s`} | ${left.join(", ") || "–"} |\n`,
    );
  }
}

void runBench("churn", new ChurnBench(), 3 * 3600, print, values.json);
