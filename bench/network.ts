/**
 * Tessera on poor networks: what a WebRTC viewer sees under each link profile.
 *
 * The server runs in one network namespace of the bench's own and Chromium
 * in another, joined by the delay line (e2e/lib/delay-line.ts: `tc netem`'s
 * delay, jitter and loss in user space, as this kernel has no netem). A
 * profile is one or more of, joined by "+": lossN (N% of the packets lost
 * each way), jitterN (each packet delayed 40 ms ± N ms each way, drawn on its
 * own, so packets overtake one another), rateN (a token bucket holds what
 * goes to the viewer to N kbit/s), or clean. Per profile a fresh viewer
 * watches the built-in test device (always moving) for `--seconds` to read
 * frame rate, bitrate, frozen time and what was lost for good from
 * getStats(), then another watches a private Xvfb display captured by the
 * same server, whose colour flips give glass-to-glass delays (bench/glass.ts).
 *
 *   npm run bench:network -- --seconds 15 --flips 20 [--profiles clean,loss5,loss20,loss5+jitter30,rate2000,rate400]
 */
import { parseArgs } from "node:util";
import type { Browser, Page } from "playwright-core";
import { launchBrowser, readMetricFromPage, startServer, waitFor, type TestServer } from "../e2e/harness.js";
import { createDelayLinePair, DELAY_LINE_DEV, type DelayLinePair, type LinkCounts } from "../e2e/lib/delay-line.js";
import { inboundVideo, NO_INBOUND_VIDEO } from "../e2e/lib/inbound-video.js";
import { limitLink } from "../e2e/lib/netns.js";
import { startXvfb } from "../e2e/lib/xvfb.js";
import { benchOptions } from "./args.js";
import { exitBounded } from "./exit.js";
import { ColourWindow, glassArgs, glassToGlass, percentile, watchColours } from "./glass.js";
import { machineInfo } from "./proc.js";

/** The mean one-way delay a jitterN profile spreads around, ms. */
const JITTER_MEAN_MS = 40;
type Profile = { name: string; lossPct: number; rateKbit: number; delayMs: number; jitterMs: number };
/** A profile from its name (bench header): clean, lossN, jitterN, rateN, joined by "+". */
function profile(name: string): Profile {
  const p: Profile = { name, lossPct: 0, rateKbit: 0, delayMs: 0, jitterMs: 0 };
  for (const part of name.split("+")) {
    const m = /^(clean|loss|jitter|rate)(\d{0,6})$/.exec(part);
    const n = Number(m?.[2]);
    if (m?.[1] === "clean" && m[2] === "") continue;
    if (m?.[1] === "loss" && m[2] !== "" && n <= 100) p.lossPct = n;
    else if (m?.[1] === "jitter" && m[2] !== "" && n <= JITTER_MEAN_MS) [p.delayMs, p.jitterMs] = [JITTER_MEAN_MS, n];
    else if (m?.[1] === "rate" && n >= 10) p.rateKbit = n;
    else throw new Error(`--profiles: ${part} (in ${name}) is not clean, lossN (percent), jitterN (ms, at most ${JITTER_MEAN_MS}) or rateN (kbit/s)`);
  }
  return p;
}
const { seconds, flips, width, height, profiles } = benchOptions(
  "bench:network",
  "[--seconds 15] [--flips 20] [--size 1280x720] [--profiles clean,loss5,loss20,loss5+jitter30,rate2000,rate400]",
  () => {
    const { values } = parseArgs({
      options: {
        seconds: { type: "string", default: "15" },
        flips: { type: "string", default: "20" },
        size: { type: "string", default: "1280x720" },
        profiles: { type: "string", default: "clean,loss5,loss20,loss5+jitter30,rate2000,rate400" },
      },
    });
    return { ...glassArgs(values), profiles: values.profiles.split(",").map(profile) };
  },
);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Opens the viewer page and waits for its video; returns the ms from opening to the first frame (page load included). */
async function playing(page: Page, url: string): Promise<number> {
  const t0 = performance.now();
  await page.goto(url);
  await waitFor(
    "WebRTC video",
    () =>
      page.evaluate(
        () => (globalThis as unknown as { document: { querySelector(s: string): { videoWidth: number } } }).document.querySelector("#video").videoWidth > 0,
      ),
    { timeoutMs: 60_000 },
  );
  return performance.now() - t0;
}

interface Row {
  profile: string;
  fps: number;
  kbps: number;
  frozenPct: number;
  lost: number;
  received: number;
  nacks: number;
  plis: number;
  /** Times the page made its connection anew in the window. */
  reconnects: number;
  g2gP50: number;
  g2gP95: number;
  g2gMissed: number;
  /** From opening a viewer page to its first frame, ms: the bench's two viewers of the profile. */
  joinMs: number[];
  /** The width of the frames the viewer decoded at the end (the simulcast layer it got). */
  width: number;
  /** The server's probes of the viewer's link before a climb, from its join to the window's end: had room, congested. */
  probes: [number, number];
  /** The server's resends to the viewer from its first frame to the window's end. */
  resends: number;
  /** What the delay line did on the way to the viewer in the window: packets delivered and dropped (media, RTCP and all). */
  toViewer: LinkCounts;
}

/** The server's counts, read by a page of its own: probes of viewers' links by outcome, resends to viewers. */
async function serverCounts(page: Page): Promise<{ room: number; congested: number; resends: number }> {
  const [room, congested, resends] = await Promise.all([
    readMetricFromPage(page, "tessera_bandwidth_probes_total", { outcome: "room" }),
    readMetricFromPage(page, "tessera_bandwidth_probes_total", { outcome: "congested" }),
    readMetricFromPage(page, "tessera_retransmissions_sent_total"),
  ]);
  return { room, congested, resends };
}

/** The getStats counters a window adds up. */
const COUNTERS = [
  "framesDecoded",
  "bytesReceived",
  "totalFreezesDuration",
  "packetsLost",
  "retransmittedPacketsReceived",
  "packetsReceived",
  "nackCount",
  "pliCount",
] as const;

/**
 * What the page's inbound video counted over `ms`, read each second: when
 * the page makes its connection anew (its counters start again from zero)
 * the new connection's counts are added, not the drop subtracted, and the
 * reconnect is counted. Also the frame width at the end.
 */
async function countOver(page: Page, ms: number): Promise<{ sum: Record<(typeof COUNTERS)[number], number>; reconnects: number; width: number; dt: number }> {
  const sum = Object.fromEntries(COUNTERS.map((k) => [k, 0])) as Record<(typeof COUNTERS)[number], number>;
  // Between two connections the page has none to read: zeros, and the next one counts from there.
  const read = () => inboundVideo(page).catch(() => NO_INBOUND_VIDEO);
  let last = await read();
  let reconnects = 0;
  const t0 = performance.now();
  while (performance.now() - t0 < ms) {
    await sleep(Math.min(1000, ms - (performance.now() - t0)));
    const now = await read();
    const anew = now.packetsReceived < last.packetsReceived || now.framesDecoded < last.framesDecoded;
    if (anew) reconnects++;
    for (const k of COUNTERS) sum[k] += anew ? now[k] : now[k] - last[k];
    last = now;
  }
  return { sum, reconnects, width: last.frameWidth, dt: (performance.now() - t0) / 1000 };
}

async function measure(profile: Profile, server: TestServer, browser: Browser, link: DelayLinePair, win: ColourWindow, desktop: string): Promise<Row> {
  const each = { delayMs: profile.delayMs, jitterMs: profile.jitterMs, lossPct: profile.lossPct };
  await Promise.all([link.set("client", each), link.set("server", each)]);
  limitLink(link.server, DELAY_LINE_DEV, profile.rateKbit);
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  try {
    const page = await context.newPage();
    const joinMs = [await playing(page, `${server.url}?device=test&transport=webrtc`)];
    const before = await serverCounts(page);
    await sleep(3000); // the sender's estimate settles on the link
    const linkBefore = (await link.counts()).toClient;
    const { sum, reconnects, width, dt } = await countOver(page, seconds * 1000);
    const linkAfter = (await link.counts()).toClient;
    const after = await serverCounts(page);
    await page.close();

    const g2g = await context.newPage();
    joinMs.push(await playing(g2g, `${server.url}?device=${desktop}&transport=webrtc`));
    await g2g.evaluate(watchColours, "#video");
    let missed = 0;
    const delays = await glassToGlass(g2g, win, flips, 5000, () => missed++);
    return {
      profile: profile.name,
      fps: sum.framesDecoded / dt,
      kbps: (sum.bytesReceived * 8) / dt / 1000,
      frozenPct: (sum.totalFreezesDuration / dt) * 100,
      // Lost for good: with RTX, packetsLost counts what the link lost of the video's own packets, repaired or not.
      lost: sum.packetsLost - sum.retransmittedPacketsReceived,
      received: sum.packetsReceived,
      nacks: sum.nackCount,
      plis: sum.pliCount,
      reconnects,
      g2gP50: percentile(delays, 0.5),
      g2gP95: percentile(delays, 0.95),
      g2gMissed: missed,
      joinMs,
      width,
      probes: [after.room - before.room, after.congested - before.congested],
      resends: after.resends - before.resends,
      toViewer: { forwarded: linkAfter.forwarded - linkBefore.forwarded, dropped: linkAfter.dropped - linkBefore.dropped },
    };
  } finally {
    await context.close().catch(() => undefined);
    const clean = { delayMs: 0, jitterMs: 0, lossPct: 0 };
    await Promise.all([link.set("client", clean), link.set("server", clean)]);
    limitLink(link.server, DELAY_LINE_DEV, 0);
  }
}

async function main(): Promise<void> {
  const link = await createDelayLinePair("bench-net");
  const display = await startXvfb({ width, height });
  let server: TestServer | undefined;
  let browser: Browser | undefined;
  let win: ColourWindow | undefined;
  const rows: Row[] = [];
  try {
    // Namespaces only the bench reaches: no sign-in off loopback is fine here.
    const host = link.server.address;
    server = await startServer({
      wrap: [...link.server.exec],
      iceHost: host,
      args: ["--host", host, "--insecure-no-auth", "--source", "test", "--source", `x11:${display.display}`, "--source-encoder", "software"],
      env: display.env,
    });
    browser = await launchBrowser(link.client.exec);
    win = await ColourWindow.open(display.display, width, height);
    for (const p of profiles) {
      rows.push(await measure(p, server, browser, link, win, `x11-${display.display.slice(1)}`));
      console.error(`bench:network: ${p.name} done`);
    }
  } finally {
    win?.close();
    await browser?.close().catch(() => undefined);
    await server?.close();
    await display.close();
    await link.destroy();
  }
  const m = machineInfo();
  const f = (n: number, d = 0) => (Number.isFinite(n) ? n.toFixed(d) : "–");
  const linkShare = (c: LinkCounts) => `${c.dropped} / ${c.forwarded + c.dropped} (${f((100 * c.dropped) / (c.forwarded + c.dropped), 2)})`;
  console.log(
    `network profiles, server and Chromium in two namespaces joined by the delay line; test device (VP8, moving) for ${seconds} s per profile; ${flips} colour flips of a ${width}x${height} Xvfb display (VP8) for glass-to-glass; ${m.cpuModel}, ${m.cores} cores, Node ${m.node}`,
  );
  console.log(
    "profile | viewer fps | video kb/s | frame width at the end | frozen % | packets lost for good / received (padding included) | link to the viewer in the window: dropped / all (%) | NACKs | resends | PLIs | reconnects | probes with room / congested | glass-to-glass p50/p95 ms (missed flips) | page to first frame ms (two viewers)",
  );
  for (const r of rows)
    console.log(
      `${r.profile} | ${f(r.fps, 1)} | ${f(r.kbps)} | ${r.width} | ${f(r.frozenPct, 2)} | ${r.lost} / ${r.received} | ${linkShare(r.toViewer)} | ${r.nacks} | ${r.resends} | ${r.plis} | ${r.reconnects} | ${r.probes[0]} / ${r.probes[1]} | ${f(r.g2gP50)}/${f(r.g2gP95)} (${r.g2gMissed}) | ${r.joinMs.map((ms) => f(ms)).join(", ")}`,
    );
}

main().then(
  () => exitBounded(0),
  (err: unknown) => {
    console.error(err);
    exitBounded(1);
  },
);
