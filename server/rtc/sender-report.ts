import type { RTCRtpSender } from "werift";
import type { ReportCounts } from "../relay/loss-meter.js";
import type { LocalSrtcpContext, SenderInternals } from "./sender-internals.js";
import { nextSrtcpIndex, SrtpProtector } from "./srtp-protect.js";

/** RTCP packet types (RFC 3550 §12.1) and the SDES item type of a CNAME (§6.5.1). */
const RTCP_SR = 200;
const RTCP_SDES = 202;
const SDES_CNAME = 1;
/** A sender report without report blocks: header, SSRC, sender info (RFC 3550 §6.4.1). */
const SR_BYTES = 28;
/**
 * Sender reports go every REPORT_MS ± REPORT_SPREAD_MS while media flows
 * (RFC 3550 §6.3.1 spreads them at random: viewers that joined together do
 * not all report at once).
 */
const REPORT_MS = 1000;
const REPORT_SPREAD_MS = 500;
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
 * One sender's reports in one DTLS session, written by the relay itself:
 * when each is due, and each as the datagram to send, protected with the
 * session's SRTCP keys under the next index of werift's count for the
 * sender's SSRC (werift's own RTCP counts up the same one). The fast
 * sender sends them from its tick: werift's loop of them (a promise-based
 * timer per sender, each report protected through Node's crypto and sent
 * through dgram's address lookup) was 3–5 % of the relay's main thread at
 * 200 viewers and a tenth of it at 16.
 */
export class SenderReports {
  private readonly protector: SrtpProtector;
  private readonly state: { srtcpIndex: number };
  private readonly cname: Buffer | undefined;
  private nextAt = Infinity;

  /** Throws when the keys are not ones SrtpProtector takes. */
  constructor(rtcp: LocalSrtcpContext, ssrc: number, cname: string | undefined) {
    this.protector = new SrtpProtector({ profile: rtcp.profile, key: rtcp.srtcpSessionKey, salt: rtcp.srtcpSessionSalt, authKey: rtcp.srtcpSessionAuthTag });
    this.state = rtcp.getSrtcpSsrcState(ssrc);
    this.cname = cnameBytes(cname);
  }

  /** True once `due` was first asked: media went out. */
  get started(): boolean {
    return this.nextAt !== Infinity;
  }

  /** Whether the next periodic report is due at `now`; the first is due about REPORT_MS after the first ask. */
  due(now: number): boolean {
    const due = now >= this.nextAt;
    if (due || this.nextAt === Infinity) this.nextAt = now + REPORT_MS + (Math.random() - 0.5) * 2 * REPORT_SPREAD_MS;
    return due;
  }

  /**
   * A report of the sender's counts, with NTP time `ntp` and RTP timestamp
   * `rtp`, as a protected datagram of its own (one that waits in a queue
   * is sent from it later); noted as sent (noteSenderReport).
   */
  datagram(s: SenderInternals, ntp: bigint, rtp: number): Buffer {
    const length = senderReportBytes(this.cname);
    const out = Buffer.allocUnsafe(length + this.protector.rtcpTrailer);
    writeSenderReport(out, s.ssrc, ntp, rtp, s.packetCount, s.octetCount, this.cname);
    this.state.srtcpIndex = nextSrtcpIndex(this.state.srtcpIndex);
    this.protector.protectRtcp(out, length, this.state.srtcpIndex);
    noteSenderReport(s, ntp);
    return out;
  }
}

/** A CNAME as an SDES item's text: its UTF-8 bytes, or undefined when there is none or it is longer than an item holds (255). */
export function cnameBytes(cname: string | undefined): Buffer | undefined {
  const text = cname ? Buffer.from(cname) : undefined;
  return text && text.length <= 255 ? text : undefined;
}

/** The size of the compound packet writeSenderReport writes: the report, and an SDES chunk with the CNAME when there is one. */
export function senderReportBytes(cname: Buffer | undefined): number {
  // SDES: header, SSRC, type, length, text, then at least one zero octet to a 32-bit boundary.
  return SR_BYTES + (cname ? 4 + 4 + ((2 + cname.length + 4) & ~3) : 0);
}

/**
 * Writes a sender report with no report blocks (the relay receives no
 * media from its viewers) into `out` from 0, followed, when given a CNAME,
 * by an SDES packet carrying it (RFC 3550 §6.4.1, §6.5): the compound
 * packet werift's own reports are, its item list ended by a zero octet as
 * the RFC asks. Returns its size (senderReportBytes).
 */
export function writeSenderReport(out: Buffer, ssrc: number, ntp: bigint, rtp: number, packets: number, octets: number, cname: Buffer | undefined): number {
  out[0] = 0x80;
  out[1] = RTCP_SR;
  out.writeUInt16BE(SR_BYTES / 4 - 1, 2);
  out.writeUInt32BE(ssrc >>> 0, 4);
  out.writeBigUInt64BE(ntp, 8);
  out.writeUInt32BE(rtp >>> 0, 16);
  out.writeUInt32BE(packets >>> 0, 20);
  out.writeUInt32BE(octets >>> 0, 24);
  if (!cname) return SR_BYTES;
  const size = senderReportBytes(cname);
  out[SR_BYTES] = 0x81;
  out[SR_BYTES + 1] = RTCP_SDES;
  out.writeUInt16BE((size - SR_BYTES) / 4 - 1, SR_BYTES + 2);
  out.writeUInt32BE(ssrc >>> 0, SR_BYTES + 4);
  out[SR_BYTES + 8] = SDES_CNAME;
  out[SR_BYTES + 9] = cname.length;
  cname.copy(out, SR_BYTES + 10);
  out.fill(0, SR_BYTES + 10 + cname.length, size);
  return size;
}

/**
 * Notes a sender report with NTP time `ntp` that goes out now where werift
 * notes its own, so the viewer's next receiver report answers it with a
 * round trip (werift's `rtt`, the round trips subscriber.ts passes on),
 * and among the sender's recent ones (roundTrips).
 */
export function noteSenderReport(s: SenderInternals, ntp: bigint): void {
  const lsr = Number((ntp >> 16n) & 0xffffffffn);
  s.lastSRtimestamp = lsr;
  const sentAt = Date.now();
  s.lastSentSRTimestamp = sentAt / 1000;
  remember(s, lsr, sentAt);
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
 * answers one of the sender's recent sender reports (noteSenderReport's,
 * and werift's own while they are its latest) gives the time since
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
