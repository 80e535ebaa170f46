/**
 * How fast a viewer's layer follows a bottleneck that comes and goes: the
 * time from a token bucket starting to hold one of two viewers' link to
 * `--kbit` until that viewer gets a lower simulcast layer, and from the
 * limit being lifted until it is back on the top layer, while the other
 * viewer keeps the top one throughout.
 *
 * As in e2e/bottleneck.test.ts: the server, a Chromium device page
 * publishing its camera in three layers and the near viewer run in one
 * network namespace, the far viewer in another, joined by a veth pair whose
 * server side holds the bucket. Each round waits for both viewers on the
 * top layer and `--settle` seconds more (a link that congests within 15 s
 * of a climb makes the server hold the next climb longer: docs/protocol.md,
 * Viewers), limits, holds the limit `--hold` seconds after the drop, and
 * lifts it.
 *
 * `--trace FILE` runs the server at debug level and writes its layer
 * decisions (docs/protocol.md: each move, probe and hold with what decided
 * it) to FILE, with a line where each limit starts and ends.
 *
 *   npm run bench:bottleneck -- [--rounds 5] [--kbit 400] [--hold 10] [--settle 20] [--trace FILE] [--json]
 */
import { writeFileSync } from "node:fs";
import { parseArgs } from "node:util";
import type { Page } from "playwright-core";
import { readMetricFromPage, waitFor } from "../e2e/harness.js";
import { inboundVideo } from "../e2e/lib/inbound-video.js";
import { limitLink, type Netns } from "../e2e/lib/netns.js";
import { FAR_LINK, startPairEnv, topWidth, type PairEnv } from "../e2e/lib/pair-env.js";
import { benchOptions } from "./args.js";
import { exitBounded } from "./exit.js";
import { percentile } from "./glass.js";
import { machineInfo, type MachineInfo } from "./proc.js";

const USAGE = "[--rounds 5] [--kbit 400] [--hold 10] [--settle 20] [--trace FILE] [--json]";
const { rounds, kbit, holdS, settleS, trace, json } = benchOptions("bench:bottleneck", USAGE, () => {
  const { values } = parseArgs({
    options: {
      rounds: { type: "string", default: "5" },
      kbit: { type: "string", default: "400" },
      hold: { type: "string", default: "10" },
      settle: { type: "string", default: "20" },
      trace: { type: "string" },
      json: { type: "boolean", default: false },
    },
  });
  const int = (name: string, v: string, min: number, max: number) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < min || n > max) throw new Error(`--${name} must be a whole number from ${min} to ${max}`);
    return n;
  };
  return {
    rounds: int("rounds", values.rounds, 1, 50),
    kbit: int("kbit", values.kbit, 50, 100_000),
    holdS: int("hold", values.hold, 0, 120),
    settleS: int("settle", values.settle, 0, 300),
    trace: values.trace,
    json: values.json,
  };
});

const DEVICE = "bottleneck-cam";
/** Bounds on each wait of a round, ms. */
const TOP_TIMEOUT_MS = 60_000;
const DROP_TIMEOUT_MS = 30_000;
const CLIMB_TIMEOUT_MS = 60_000;
/** What the bench checks the rounds against, ms. */
const DROP_TARGET_MS = 5000;
const CLIMB_TARGET_MS = 15_000;

interface Round {
  /** From the limit starting to the far viewer decoding a lower layer, ms (null: not within DROP_TIMEOUT_MS). */
  dropMs: number | null;
  /** The width it went to. */
  lowWidth: number;
  /** From the limit lifted to the far viewer back on the top layer, ms (null: not within CLIMB_TIMEOUT_MS). */
  climbMs: number | null;
  /** The near viewer stayed on the top layer meanwhile. */
  nearKeptTop: boolean;
  /** Probes of viewers' links the server made in the round: found room, congested. */
  probes: [number, number];
  /** Layer switches of viewers' video in the round: up, down. */
  switches: [number, number];
}

const frameWidth = async (page: Page): Promise<number> => (await inboundVideo(page)).frameWidth;

const onTop = async (device: Page, viewer: Page): Promise<boolean> => {
  const top = await topWidth(device);
  return top > 0 && (await frameWidth(viewer)) >= top;
};

/** How long until `check` holds, ms, or null when it does not within `timeoutMs` (polled every 250 ms). */
async function timeUntil(check: () => Promise<boolean>, timeoutMs: number): Promise<number | null> {
  const t0 = performance.now();
  while (performance.now() - t0 < timeoutMs) {
    if (await check().catch(() => false)) return performance.now() - t0;
    await new Promise((r) => setTimeout(r, 250));
  }
  return null;
}

/** The server's probe (room, congested) and layer switch (up, down) counters. */
async function counters(page: Page): Promise<number[]> {
  return [
    await readMetricFromPage(page, "tessera_bandwidth_probes_total", { outcome: "room" }),
    await readMetricFromPage(page, "tessera_bandwidth_probes_total", { outcome: "congested" }),
    await readMetricFromPage(page, "tessera_layer_switches_total", { direction: "up" }),
    await readMetricFromPage(page, "tessera_layer_switches_total", { direction: "down" }),
  ];
}

/** Where each limit started and ended, for --trace. */
const marks: string[] = [];
const mark = (what: string) => marks.push(`${new Date().toISOString()} ${what}`);

async function round(ns: Netns, device: Page, near: Page, far: Page): Promise<Round> {
  await waitFor("both viewers on the top layer", async () => ((await onTop(device, far)) && (await onTop(device, near)) ? true : undefined), {
    timeoutMs: TOP_TIMEOUT_MS,
    intervalMs: 250,
  });
  await new Promise((r) => setTimeout(r, settleS * 1000));
  const before = await counters(near);
  let nearKeptTop = true;
  limitLink(ns, FAR_LINK, kbit);
  mark(`limit ${kbit} kbit/s on`);
  let dropMs: number | null;
  let lowWidth = 0;
  try {
    dropMs = await timeUntil(async () => {
      lowWidth = await frameWidth(far);
      return lowWidth > 0 && lowWidth < (await topWidth(device));
    }, DROP_TIMEOUT_MS);
    const holdEnd = performance.now() + holdS * 1000;
    while (performance.now() < holdEnd) {
      // Given a moment: a busy machine's encoder may shrink the top layer itself for a while.
      if (!(await onTop(device, near))) nearKeptTop = (await timeUntil(() => onTop(device, near), 5000)) !== null && nearKeptTop;
      await new Promise((r) => setTimeout(r, 500));
    }
  } finally {
    limitLink(ns, FAR_LINK, 0);
    mark("limit off");
  }
  const climbMs = await timeUntil(() => onTop(device, far), CLIMB_TIMEOUT_MS);
  const d = (await counters(near)).map((v, i) => v - before[i]);
  return { dropMs, lowWidth, climbMs, nearKeptTop, probes: [d[0], d[1]], switches: [d[2], d[3]] };
}

async function main(): Promise<void> {
  let env: PairEnv | undefined;
  // The server takes the environment's settings; debug level logs its layer decisions.
  if (trace !== undefined) process.env.TESSERA_LOG_LEVEL = "debug";
  try {
    env = await startPairEnv("bb");
    const { server } = env;
    const device = await env.near.newPage();
    await device.goto(`${server.url}device.html?id=${DEVICE}&name=Bottleneck&source=camera&autostart=1&simulcast=1`);
    await waitFor(
      "the device publishing",
      () =>
        device.evaluate(
          () => (globalThis as unknown as { document: { body: { dataset: { state?: string } } } }).document.body.dataset.state === "publishing" || undefined,
        ),
      { timeoutMs: 30_000 },
    );
    const near = await env.near.newPage();
    const far = await env.far.newPage();
    await Promise.all([near.goto(`${server.url}?device=${DEVICE}&transport=webrtc`), far.goto(`${server.url}?device=${DEVICE}&transport=webrtc`)]);
    const rows: Round[] = [];
    for (let i = 0; i < rounds; i++) {
      rows.push(await round(env.pair.server, device, near, far));
      process.stderr.write(`bench:bottleneck: round ${i + 1} of ${rounds} done\n`);
    }
    print(rows, machineInfo());
  } finally {
    if (trace !== undefined && env) {
      const decisions = env.server.logs.filter((l) => l.includes("[tessera:layers]"));
      writeFileSync(trace, [...marks, ...decisions].sort().join("\n") + "\n");
    }
    await env?.close();
  }
}

function print(rows: Round[], machine: MachineInfo): void {
  const ms = (v: number | null) => (v === null ? "—" : String(Math.round(v)));
  const out = [
    `bottleneck: ${kbit} kbit/s to one of two viewers of a Chromium camera in three layers, ${settleS} s after both were on the top layer, held ${holdS} s after the drop, then lifted; ${rounds} rounds; ${machine.cpuModel}, ${machine.cores} cores, Node ${machine.node}`,
    "round | drop to a lower layer ms | width then | back on the top layer ms | near viewer kept the top layer | probes with room / congested | layer switches up / down",
    ...rows.map(
      (r, i) =>
        `${i + 1} | ${ms(r.dropMs)} | ${r.lowWidth} | ${ms(r.climbMs)} | ${r.nearKeptTop ? "yes" : "no"} | ${r.probes[0]} / ${r.probes[1]} | ${r.switches[0]} / ${r.switches[1]}`,
    ),
  ];
  const drops = rows.map((r) => r.dropMs).filter((v): v is number => v !== null);
  const climbs = rows.map((r) => r.climbMs).filter((v): v is number => v !== null);
  // Against the targets of a drop within 5 s and a climb back within 15 s; a round that timed out counts as over.
  const summary = (xs: number[], targetMs: number) =>
    xs.length === 0
      ? "none before the bench's timeout"
      : `p50 ${Math.round(percentile(xs, 0.5))} ms, max ${Math.round(Math.max(...xs))} ms, ${xs.filter((x) => x <= targetMs).length} of ${rows.length} within ${targetMs / 1000} s`;
  out.push(`drop: ${summary(drops, DROP_TARGET_MS)}; climb back: ${summary(climbs, CLIMB_TARGET_MS)}`);
  process.stdout.write(out.join("\n") + "\n");
  if (json) process.stdout.write(JSON.stringify({ date: new Date().toISOString(), machine, kbit, holdS, settleS, rows }) + "\n");
}

main().then(
  () => exitBounded(0),
  (err: unknown) => {
    process.stderr.write(`bench:bottleneck: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    exitBounded(1);
  },
);
