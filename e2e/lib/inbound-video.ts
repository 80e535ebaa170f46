/** A viewer page's inbound video statistics (getStats), as the lossy-link test and bench:network read them. */
import type { Page } from "playwright-core";

export interface InboundVideo {
  framesDecoded: number;
  bytesReceived: number;
  totalFreezesDuration: number;
  freezeCount: number;
  packetsLost: number;
  packetsReceived: number;
  nackCount: number;
  pliCount: number;
  keyFramesDecoded: number;
  /** Width of the frames decoded now (0 before any). */
  frameWidth: number;
  /** The RTP interarrival jitter the browser estimates now (RFC 3550), ms. */
  jitterMs: number;
  /** The selected candidate pair's current round trip, ms (0 before one is known). */
  rttMs: number;
}

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
      bytesReceived: n("bytesReceived"),
      totalFreezesDuration: n("totalFreezesDuration"),
      freezeCount: n("freezeCount"),
      packetsLost: n("packetsLost"),
      packetsReceived: n("packetsReceived"),
      nackCount: n("nackCount"),
      pliCount: n("pliCount"),
      keyFramesDecoded: n("keyFramesDecoded"),
      frameWidth: n("frameWidth"),
      jitterMs: n("jitter") * 1000,
      rttMs: Number(pair?.currentRoundTripTime ?? 0) * 1000,
    };
  });
}
