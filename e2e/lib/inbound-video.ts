/** A viewer page's inbound video statistics (getStats), as the lossy-link test and bench:network read them. */
import type { Page } from "playwright-core";
import { waitFor } from "../harness.js";

export interface InboundVideo {
  framesDecoded: number;
  /** Frames that arrived whole (Chromium: assembled from their packets), decoded or not. */
  framesReceived: number;
  /** Frames the receiver dropped before decoding them or without showing them (getStats' framesDropped). */
  framesDropped: number;
  bytesReceived: number;
  totalFreezesDuration: number;
  freezeCount: number;
  /** Packets of the video's own SSRC that never came (resends on RTX do not lower it; resends on the same SSRC do). */
  packetsLost: number;
  packetsReceived: number;
  /** Packets that came again on RTX (0 without RTX). */
  retransmittedPacketsReceived: number;
  nackCount: number;
  pliCount: number;
  keyFramesDecoded: number;
  /** Width of the frames decoded now (0 before any). */
  frameWidth: number;
  /** The RTP interarrival jitter the browser estimates now (RFC 3550), ms. */
  jitterMs: number;
  /** The selected candidate pair's current round trip, ms (0 before one is known). */
  rttMs: number;
  /** Seconds frames spent in the jitter buffer, summed, and how many frames left it. */
  jitterBufferDelay: number;
  jitterBufferEmittedCount: number;
}

/** Every count zero: what a page with no connection to read has. */
export const NO_INBOUND_VIDEO: Readonly<InboundVideo> = Object.freeze({
  framesDecoded: 0,
  framesReceived: 0,
  framesDropped: 0,
  bytesReceived: 0,
  totalFreezesDuration: 0,
  freezeCount: 0,
  packetsLost: 0,
  packetsReceived: 0,
  retransmittedPacketsReceived: 0,
  nackCount: 0,
  pliCount: 0,
  keyFramesDecoded: 0,
  frameWidth: 0,
  jitterMs: 0,
  rttMs: 0,
  jitterBufferDelay: 0,
  jitterBufferEmittedCount: 0,
});

/** The inbound video RTP stream of the page's `window.tessera.pc` (zeros before there is one). */
export function inboundVideo(page: Page): Promise<InboundVideo> {
  return page.evaluate(async () => {
    const pc = (globalThis as unknown as { tessera: { pc: { getStats(): Promise<Map<string, Record<string, unknown>>> } } }).tessera.pc;
    let v: Record<string, unknown> | undefined;
    let pair: Record<string, unknown> | undefined;
    (await pc.getStats()).forEach((s) => {
      if (s.type === "inbound-rtp" && s.kind === "video") v = s;
      if (s.type === "candidate-pair" && s.nominated && s.state === "succeeded") pair = s;
    });
    const n = (k: string) => Number(v?.[k] ?? 0);
    return {
      framesDecoded: n("framesDecoded"),
      framesReceived: n("framesReceived"),
      framesDropped: n("framesDropped"),
      bytesReceived: n("bytesReceived"),
      totalFreezesDuration: n("totalFreezesDuration"),
      freezeCount: n("freezeCount"),
      packetsLost: n("packetsLost"),
      packetsReceived: n("packetsReceived"),
      retransmittedPacketsReceived: n("retransmittedPacketsReceived"),
      nackCount: n("nackCount"),
      pliCount: n("pliCount"),
      keyFramesDecoded: n("keyFramesDecoded"),
      frameWidth: n("frameWidth"),
      jitterMs: n("jitter") * 1000,
      rttMs: Number(pair?.currentRoundTripTime ?? 0) * 1000,
      jitterBufferDelay: n("jitterBufferDelay"),
      jitterBufferEmittedCount: n("jitterBufferEmittedCount"),
    };
  });
}

/**
 * What the page's `window.tessera.pc` learnt from the sender reports of its
 * video (the remote-outbound-rtp stats, filled only from sender reports it
 * decrypted and parsed): the packet count in the latest, 0 before one.
 */
export function reportedVideoPackets(page: Page): Promise<number> {
  return page.evaluate(async () => {
    const pc = (globalThis as unknown as { tessera?: { pc?: { getStats(): Promise<Map<string, Record<string, unknown>>> } } }).tessera?.pc;
    let packets = 0;
    if (pc)
      (await pc.getStats()).forEach((s) => {
        if (s.type === "remote-outbound-rtp" && s.kind === "video") packets = Number(s.packetsSent ?? 0);
      });
    return packets;
  });
}

/**
 * Reads the page's inbound video now and again once `windowS` seconds have
 * passed and it has decoded a frame since: the two ends of a window of
 * playing video, and the window's real length in seconds.
 */
export async function watchVideo(page: Page, windowS: number): Promise<{ start: InboundVideo; end: InboundVideo; seconds: number }> {
  const t0 = Date.now();
  const start = await inboundVideo(page);
  const end = await waitFor(
    `${windowS} s of playing video`,
    async () => {
      const s = await inboundVideo(page);
      return Date.now() - t0 >= windowS * 1000 && s.framesDecoded > start.framesDecoded ? s : undefined;
    },
    { timeoutMs: (windowS + 15) * 1000, intervalMs: 250 },
  );
  return { start, end, seconds: (Date.now() - t0) / 1000 };
}

/**
 * Packets lost for good between two readings: the video's own lost less
 * what came again on RTX (a resend on the video's own SSRC already lowers
 * packetsLost). Below zero when resends of packets that were only late
 * arrive as duplicates.
 */
export function lostForGood(start: InboundVideo, end: InboundVideo): number {
  return end.packetsLost - start.packetsLost - (end.retransmittedPacketsReceived - start.retransmittedPacketsReceived);
}

/** How long a frame waited in the jitter buffer between two readings, ms on average (NaN when none left it). */
export function jitterBufferMs(start: InboundVideo, end: InboundVideo): number {
  return (1000 * (end.jitterBufferDelay - start.jitterBufferDelay)) / (end.jitterBufferEmittedCount - start.jitterBufferEmittedCount);
}

/** One simulcast layer a device page sends: its rid, the width it is encoded at now and the frames sent so far. */
export interface OutboundLayer {
  rid: string;
  frameWidth: number;
  framesSent: number;
}

/** The video layers the page's `window.tessera.pc` sends (one without a rid when it does not use simulcast). */
export function outboundLayers(page: Page): Promise<OutboundLayer[]> {
  return page.evaluate(async () => {
    const pc = (globalThis as unknown as { tessera: { pc: { getStats(): Promise<Map<string, Record<string, unknown>>> } } }).tessera.pc;
    const layers: { rid: string; frameWidth: number; framesSent: number }[] = [];
    (await pc.getStats()).forEach((s) => {
      if (s.type === "outbound-rtp" && s.kind === "video")
        layers.push({ rid: typeof s.rid === "string" ? s.rid : "", frameWidth: Number(s.frameWidth ?? 0), framesSent: Number(s.framesSent ?? 0) });
    });
    return layers;
  });
}

/** The jitter buffer target the page set on its video receiver (`window.tessera.pc`), ms, or undefined while it keeps the browser's own. */
export function videoJitterTarget(page: Page): Promise<number | undefined> {
  return page.evaluate(() => {
    const pc = (globalThis as unknown as { tessera: { pc?: { getReceivers(): { track: { kind: string }; jitterBufferTarget?: number | null }[] } } }).tessera
      .pc;
    const video = pc?.getReceivers().find((r) => r.track.kind === "video");
    return typeof video?.jitterBufferTarget === "number" ? video.jitterBufferTarget : undefined;
  });
}

/**
 * Starts noting the temporal layers the server forwards to a viewer page
 * (`#player[data-temporal]`, "forwarded/all"); the returned function gives
 * the share of a layer's frames forwarded since, averaged over time (1 while
 * every temporal layer goes; in L1T3, a half with two, a quarter with one).
 */
export async function forwardedFrameShare(page: Page): Promise<() => Promise<number>> {
  await page.evaluate(() => {
    // The page's DOM, typed here as far as this uses it (the e2e code is built without the DOM library).
    const g = globalThis as unknown as {
      document: { querySelector(selector: string): { dataset: Record<string, string | undefined> } | null };
      MutationObserver: new (callback: () => void) => { observe(target: unknown, options: { attributes: boolean; attributeFilter: string[] }): void };
      tesseraTemporalLog: [number, number][];
    };
    const player = g.document.querySelector("#player");
    if (!player) throw new Error("no #player on the page");
    const share = () => {
      const [forwarded, all] = (player.dataset.temporal ?? "1/1").split("/").map(Number);
      return 2 ** (forwarded - all);
    };
    g.tesseraTemporalLog = [[performance.now(), share()]];
    new g.MutationObserver(() => g.tesseraTemporalLog.push([performance.now(), share()])).observe(player, {
      attributes: true,
      attributeFilter: ["data-temporal"],
    });
  });
  return () =>
    page.evaluate(() => {
      const log = (globalThis as unknown as { tesseraTemporalLog: [number, number][] }).tesseraTemporalLog;
      const now = performance.now();
      let weighted = 0;
      log.forEach(([at, share], i) => (weighted += share * ((log[i + 1]?.[0] ?? now) - at)));
      return weighted / (now - log[0][0]);
    });
}
