import { compactNtp, RtcpSenderInfo, RtcpSourceDescriptionPacket, RtcpSrPacket, SourceDescriptionChunk, SourceDescriptionItem } from "werift";
import type { RTCRtpSender } from "werift";
import type { ReportCounts } from "../relay/loss-meter.js";
import { ntpTime } from "./rtp-header.js";
import type { SenderInternals } from "./sender-internals.js";

/** The SDES item type of a CNAME (RFC 3550 §6.5.1). */
const SDES_CNAME = 1;
/** Sender reports remembered per sender, so that a receiver report answering one that is no longer the latest still gives a round trip. */
const REMEMBERED = 16;

/**
 * The sender reports each sender sent lately: the middle 32 bits of the
 * NTP time in each (what a receiver report's LSR echoes), and when it went
 * out (Date.now()). werift keeps only its latest, and with reports a few
 * hundred ms apart a queue longer than that would leave no report answered
 * while it was the latest: no round trip just when it grows.
 */
const sentReports = new WeakMap<object, Map<number, number>>();

function remember(sender: object, lsr: number, sentAt: number): void {
  let sent = sentReports.get(sender);
  if (!sent) sentReports.set(sender, (sent = new Map<number, number>()));
  // Two reports within the NTP clock's step carry the same time: a browser's answer is to the later.
  sent.delete(lsr);
  sent.set(lsr, sentAt);
  if (sent.size > REMEMBERED) sent.delete(sent.keys().next().value as number);
}

/**
 * Sends a sender report now, between werift's own (one every 0.5–1.5 s):
 * the counts the sender keeps (fast-sender.ts keeps them up to date), its
 * CNAME, and the time now with the RTP timestamp it maps to, carried on
 * from the pair the sender keeps (the last packet's). A time of its own:
 * werift's reports carry the last packet's, and one sent before the next
 * packet would carry this report's, leaving the viewer's answer ambiguous
 * (seen in the test: round trips 300 ms short). It is noted where werift
 * notes its own, so the viewer's next receiver report answers it with a
 * round trip, as for werift's (werift's `rtt`, the round trips
 * subscriber.ts passes on). False when the sender has nothing to report yet.
 */
export function sendSenderReport(s: SenderInternals, nowMs = performance.now()): boolean {
  const clockRate = s.codec?.clockRate;
  if (s.dtlsTransport.state !== "connected" || typeof s.dtlsTransport.sendRtcp !== "function" || s.packetCount === 0 || !clockRate) return false;
  const ntp = ntpTime(nowMs);
  const rtp = (s.rtpTimestamp + Math.round((Number(ntp - s.ntpTimestamp) / 2 ** 32) * clockRate)) >>> 0;
  const packets: unknown[] = [
    new RtcpSrPacket({
      ssrc: s.ssrc,
      senderInfo: new RtcpSenderInfo({ ntpTimestamp: ntp, rtpTimestamp: rtp, packetCount: s.packetCount, octetCount: s.octetCount }),
    }),
  ];
  if (s.cname) {
    const cname = new SourceDescriptionItem({ type: SDES_CNAME, text: s.cname });
    packets.push(new RtcpSourceDescriptionPacket({ chunks: [new SourceDescriptionChunk({ source: s.ssrc, items: [cname] })] }));
  }
  s.lastSRtimestamp = compactNtp(ntp);
  s.lastSentSRTimestamp = Date.now() / 1000;
  remember(s, s.lastSRtimestamp, Date.now());
  s.dtlsTransport.sendRtcp(packets).catch(() => undefined);
  return true;
}

/** A receiver report block as werift parses it (RFC 3550 6.4.1). */
export interface ReportBlock extends ReportCounts {
  ssrc: number;
  /** The middle 32 bits of the NTP time in the sender report it answers, 0 for none. */
  lsr: number;
  /** How long the viewer held that sender report before this report, 1/65536 s. */
  dlsr: number;
}

/**
 * The round trips a sender's viewer measures, ms: a report block that
 * answers one of the sender's recent sender reports (werift's, noted here
 * while they are its latest, and sendSenderReport's) gives the time since
 * it went out less the viewer's hold. One sample per sender report: a
 * browser's later reports answer the same one until the next comes.
 */
export function roundTrips(sender: RTCRtpSender): (block: ReportBlock) => number | undefined {
  const sr = sender as unknown as SenderInternals;
  let answered: number | undefined;
  return (block) => {
    if (sr.lastSRtimestamp !== undefined && sr.lastSentSRTimestamp !== undefined) remember(sr, sr.lastSRtimestamp, sr.lastSentSRTimestamp * 1000);
    const sentAt = block.lsr ? sentReports.get(sr)?.get(block.lsr) : undefined;
    if (sentAt === undefined || block.lsr === answered) return undefined;
    answered = block.lsr;
    const ms = Date.now() - sentAt - (block.dlsr / 65536) * 1000;
    return ms >= 0 ? ms : undefined;
  };
}
