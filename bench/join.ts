/**
 * Time to first frame for a viewer joining a device that is already being
 * watched, over WebRTC in Chromium. One viewer keeps watching; `--joins`
 * times a new viewer page opens, and its milestones are read from the page
 * (performance.now(), so one clock): the `watch` sent, the connection up,
 * the first frame presented (requestVideoFrameCallback), plus what its
 * getStats() says of the first seconds (NACKs, PLIs, packets lost). Two
 * devices: the built-in test device (1280×720 VP8 from GStreamer, a
 * keyframe forced by the relay) and a device page publishing Chromium's
 * fake camera (640×360 VP8, a keyframe asked for with a PLI).
 *
 * With `--pin` the server (and the test device's encoder in it) runs on core
 * 0 and Chromium on core 1 (`taskset`), as if the viewers were on machines of
 * their own; without it they share both cores. With `--rtt MS` the server
 * and Chromium run in two network namespaces joined by the delay line
 * (e2e/lib/delay-line.ts), MS/2 each way, for everything: page load,
 * signaling, ICE, DTLS and media, as over a real network (the test device
 * only: a page off loopback is no secure context, so it gets no camera).
 *
 *   npm run bench:join -- --joins 15 [--pin] [--rtt 80]
 */
import { parseArgs } from "node:util";
import { devicePublishing, framesAdvance, launchBrowser, Pages, probe, startServer, viewerState, waitFor, type Env } from "../e2e/harness.js";
import { createDelayLinePair, type DelayLinePair } from "../e2e/lib/delay-line.js";
import { inboundVideo } from "../e2e/lib/inbound-video.js";
import { benchOptions } from "./args.js";
import { exitBounded } from "./exit.js";
import { percentile } from "./glass.js";
import { machineInfo } from "./proc.js";

const { values, joins, rtt } = benchOptions("bench:join", "[--joins 15] [--pin] [--rtt MS] [--json]", () => {
  const { values } = parseArgs({
    options: {
      joins: { type: "string", default: "15" },
      pin: { type: "boolean", default: false },
      rtt: { type: "string", default: "0" },
      json: { type: "boolean", default: false },
    },
  });
  const joins = Number(values.joins);
  if (!Number.isInteger(joins) || joins < 3 || joins > 200) throw new Error("--joins: expected 3-200");
  const rtt = Number(values.rtt);
  if (!Number.isInteger(rtt) || rtt < 0 || rtt > 1000) throw new Error("--rtt: expected 0-1000 (ms)");
  return { values, joins, rtt };
});

/** One join's milestones, ms. */
interface Join {
  /** From the page's navigation start to its `watch` going out: page load, sign-in and the socket. */
  pageToWatch: number;
  watchToOffer: number;
  offerToAnswer: number;
  answerToConnected: number;
  connectedToFirstFrame: number;
  watchToFirstFrame: number;
  /** From the page's navigation start (its performance.now() origin): page load and the hello included. */
  pageToFirstFrame: number;
  nacks: number;
  lost: number;
}

async function joinOnce(pages: Pages, deviceId: string, label: string): Promise<Join> {
  const late = await pages.viewer(deviceId, label);
  const shown = await waitFor(
    `${label}'s first frame`,
    async () => {
      const p = await probe(late);
      return p.firstFrameAt !== null ? p : undefined;
    },
    { timeoutMs: 20_000, intervalMs: 50 },
  );
  const { timeline } = await viewerState(late);
  if (timeline?.connectedAt == null || timeline.watchSentAt == null || timeline.offerAt == null || timeline.answerSentAt == null)
    throw new Error(`${label} recorded no milestones`);
  const first = shown.firstFrameAt ?? NaN;
  const stats = await inboundVideo(late);
  return {
    pageToWatch: timeline.watchSentAt,
    watchToOffer: timeline.offerAt - timeline.watchSentAt,
    offerToAnswer: timeline.answerSentAt - timeline.offerAt,
    answerToConnected: timeline.connectedAt - timeline.answerSentAt,
    connectedToFirstFrame: first - timeline.connectedAt,
    watchToFirstFrame: first - timeline.watchSentAt,
    pageToFirstFrame: first,
    nacks: stats.nackCount,
    lost: stats.packetsLost,
  };
}

interface Row {
  device: string;
  joins: number;
  pageToWatch: [number, number];
  watchToOffer: [number, number];
  offerToAnswer: [number, number];
  answerToConnected: [number, number];
  connectedToFirstFrame: [number, number];
  watchToFirstFrame: [number, number];
  pageToFirstFrame: [number, number];
  /** Joins whose viewer sent NACKs in its first moments. */
  withNacks: number;
}

async function measure(env: Env, device: string, deviceId: string): Promise<Row> {
  const keeper = new Pages(env);
  try {
    const first = await keeper.viewer(deviceId, "first");
    await framesAdvance(first, 30, 20_000);
    const all: Join[] = [];
    for (let i = 0; i < joins; i++) {
      const pages = new Pages(env);
      try {
        all.push(await joinOnce(pages, deviceId, `join${i}`));
      } finally {
        await pages.close();
      }
    }
    const p = (k: keyof Join): [number, number] => {
      const xs = all.map((j) => j[k]);
      return [percentile(xs, 0.5), percentile(xs, 0.95)];
    };
    return {
      device,
      joins: all.length,
      pageToWatch: p("pageToWatch"),
      watchToOffer: p("watchToOffer"),
      offerToAnswer: p("offerToAnswer"),
      answerToConnected: p("answerToConnected"),
      connectedToFirstFrame: p("connectedToFirstFrame"),
      watchToFirstFrame: p("watchToFirstFrame"),
      pageToFirstFrame: p("pageToFirstFrame"),
      withNacks: all.filter((j) => j.nacks > 0).length,
    };
  } finally {
    await keeper.close();
  }
}

/** The server's and Chromium's wrap commands: the delay line's namespaces (--rtt), then the cores (--pin). */
async function placement(): Promise<{ link?: DelayLinePair; server: Parameters<typeof startServer>[0]; browser: string[] }> {
  const core = (n: number) => (values.pin ? ["taskset", "-c", String(n)] : []);
  if (rtt === 0) return { server: { wrap: core(0) }, browser: core(1) };
  const link = await createDelayLinePair("bench-join");
  const each = { delayMs: rtt / 2, jitterMs: 0, lossPct: 0 };
  await Promise.all([link.set("client", each), link.set("server", each)]);
  // Namespaces only the bench reaches: no sign-in off loopback is fine here.
  const host = link.server.address;
  return {
    link,
    server: { wrap: [...link.server.exec, ...core(0)], iceHost: host, args: ["--host", host, "--insecure-no-auth"] },
    browser: [...link.client.exec, ...core(1)],
  };
}

async function main(): Promise<void> {
  const place = await placement();
  const server = await startServer(place.server).catch(async (err: unknown) => {
    await place.link?.destroy();
    throw err;
  });
  const browser = await launchBrowser(place.browser).catch(async (err: unknown) => {
    await server.close();
    await place.link?.destroy();
    throw err;
  });
  const env: Env = { server, browser };
  const devicePages = new Pages(env);
  try {
    const rows: Row[] = [await measure(env, "test device (1280×720, GStreamer)", "test")];
    // A device page off loopback is no secure context: Chromium gives it no camera, so over the delay line only the test device is measured.
    if (rtt === 0) {
      const page = await devicePages.device("bench-join-cam", "Join bench cam");
      await devicePublishing(page);
      rows.push(await measure(env, "device page (640×360, Chromium)", "bench-join-cam"));
    }

    const m = machineInfo();
    const ms = ([a, b]: [number, number]) => `${a.toFixed(0)} / ${b.toFixed(0)}`;
    process.stdout.write(
      `time to first frame for a joining WebRTC viewer (Chromium, ${rtt ? `${rtt} ms round trip over the delay line` : "loopback"}${values.pin ? "; server on core 0, Chromium on core 1" : ""}), p50 / p95 ms over ${joins} joins\n` +
        `machine   ${m.cpuModel}, ${m.cores} cores, Node ${m.node}\ndate      ${new Date().toISOString()}\n\n` +
        `| device | page → watch | watch → offer | offer → answer | answer → connected | connected → first frame | watch → first frame | page → first frame | joins with NACKs |\n|---|---|---|---|---|---|---|---|---|\n` +
        rows
          .map(
            (r) =>
              `| ${r.device} | ${ms(r.pageToWatch)} | ${ms(r.watchToOffer)} | ${ms(r.offerToAnswer)} | ${ms(r.answerToConnected)} | ${ms(r.connectedToFirstFrame)} | ${ms(r.watchToFirstFrame)} | ${ms(r.pageToFirstFrame)} | ${r.withNacks} of ${r.joins} |`,
          )
          .join("\n") +
        "\n",
    );
    if (values.json) process.stdout.write(JSON.stringify({ date: new Date().toISOString(), machine: m, pinned: values.pin, rttMs: rtt, rows }) + "\n");
  } finally {
    await devicePages.close();
    await browser.close().catch(() => undefined);
    await server.close();
    await place.link?.destroy();
  }
}

main().then(
  () => exitBounded(0),
  (err: unknown) => {
    process.stderr.write(`bench:join: ${(err as Error).stack ?? String(err)}\n`);
    exitBounded(1);
  },
);
