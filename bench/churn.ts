/**
 * Churn: viewers, devices and WHIP sessions joining and leaving one server,
 * one at a time, and whether the server gives everything back: RSS against
 * its baseline, and every count (peer connections, werift listeners,
 * pipelines, limits in use, Node's active UDP/TCP sockets and timers)
 * back where it was.
 *
 *   npm run bench:churn -- --viewers 1000 --fallback 1000 --devices 200 --whip 200
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { census, churn, settle, type ChurnKind } from "./churn-cycles.js";
import { machineInfo } from "./proc.js";
import { intArg, runBench } from "./run.js";
import { ServerProcess } from "./server-process.js";

const { values } = parseArgs({
  options: {
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
const settleS = intArg("settle", values.settle, 1, 600);
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

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;
const mb = (b: number) => Math.round((b / 1048576) * 10) / 10;

class ChurnBench {
  private server: ServerProcess | undefined;
  private readonly dataDir = mkdtempSync(join(tmpdir(), "tessera-churn-"));

  async run(): Promise<{ machine: ReturnType<typeof machineInfo>; rows: Row[] }> {
    const server = await ServerProcess.start(["--port", "0", "--source", "test", "--ice-host", "127.0.0.1", "--data-dir", this.dataDir], {
      ...process.env,
      UV_THREADPOOL_SIZE: "128",
    });
    this.server = server;
    const rows: Row[] = [];
    for (const [kind, n] of plan) {
      if (n === 0) continue;
      await churn(server, kind, WARMUP);
      // The baseline once the warm-up's own leftovers are gone (werift ends a closed peer's timers within ~30 s).
      const idle = await settle(server, await census(server), 1000);
      const base = (await settle(server, idle.census, settleS * 1000)).census;
      process.stderr.write(`[churn] ${kind}: ${n} cycles from RSS ${mb(base.rssBytes)} MB\n`);
      const times = await churn(server, kind, n, (done) => {
        if (done % 100 === 0) process.stderr.write(`[churn] ${kind}: ${done}/${n}\n`);
      });
      const after = await settle(server, base, settleS * 1000);
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
    return { machine: machineInfo(), rows };
  }

  async close(): Promise<void> {
    await this.server?.stop();
    rmSync(this.dataDir, { recursive: true, force: true });
  }
}

function print(report: { machine: ReturnType<typeof machineInfo>; rows: Row[] }): void {
  const m = report.machine;
  process.stdout.write(`churn on ${m.cpuModel} (${m.cores} cores), Node ${m.node}\n`);
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
