import type { RTCRtpSender } from "werift";
import { CleanLink } from "../protocol/clean-link.js";
import { PADDING_BYTES } from "../relay/down-track.js";
import { idLocator } from "../relay/id-locators.js";
import type { LaneMember, LaneOffsets } from "../relay/lane.js";
import { shiftIds } from "../relay/picture-id-munger.js";
import type { RelayObserver } from "../relay/observer.js";
import type { RelayPacket, TrackCodec } from "../relay/up-track.js";
import { Egress } from "./egress.js";
import {
  LANE_DATAGRAM_BYTES,
  LANE_LAST_SEQ,
  LANE_PACKETS,
  LANE_PAYLOAD_BYTES,
  LANE_ROC,
  LANE_ROC_STARTED,
  nativeFanout,
  RTP_MARKER,
  RTP_PADDING,
} from "./native.js";
import { NativeLane, type LaneEntry, type LaneSender } from "./fanout-lane.js";
import { BROWSER_DELAY, ZERO_DELAY } from "./playout-delay.js";
import { absSendTime, headerTemplate, ntpTime, type HeaderLayout } from "./rtp-header.js";
import type { IceConnection, LocalSrtcpContext, LocalSrtpContext, SenderInternals, SsrcState } from "./sender-internals.js";
import { SenderReports } from "./sender-report.js";
import { HISTORY, SentDatagrams } from "./sent-datagrams.js";
import { SendCounts } from "./send-counts.js";
import { ResendBudget } from "./resend-budget.js";
import { IDS_SHIFTED, SentPackets } from "./sent-packets.js";
import { queueTick, TICK_MS } from "./ticks.js";
import { SrtpProtector } from "./srtp-protect.js";

/**
 * Packets kept by reference for NACKs past the history: what is needed to
 * write one again byte for byte (the relay's payloads are never reused).
 * About 4 s of 720p30 video: a viewer on a starved machine reads its
 * socket late and asks late, and a keyframe it waits for comes whole.
 */
const REFERENCES = 1024;
/**
 * A packet is resent at most once per half round trip (and at least this
 * often apart, ms). A browser asks again for what it still misses every
 * round trip or so: on a thin link answering every ask filled it with
 * copies of the same old packets (seen at 100 kbit/s: 30 NACKs a second, no
 * keyframe getting through for 25 s). But its second ask reaches the relay
 * a round trip after the first give or take the link's jitter, so a gap of
 * a whole round trip (libwebrtc's) refused about half of them on a jittery
 * link, and a resend lost again waited another round trip: at 5% loss and
 * 40 ± 30 ms each way, 2.0–7.3 % frozen with it, 1.2–1.8 % with half.
 */
const MIN_RESEND_GAP_MS = 30;
/**
 * With `copy` (resend), each resend goes out again this long after the
 * first, ms: far enough apart that a link dropping packets at random drops
 * both only as often as two packets of its own. A resend lost on its way is
 * asked for again only a round trip later, and a frame that waits two
 * round trips and a frame for its packet freezes the picture: behind 5 %
 * loss and 40 ± 30 ms each way, bench:network froze over 1 % of the time
 * in 7 of 19 runs without copies (median 0.77 %), in 1 of 19 with them
 * where subscriber.ts allows them (median 0.00 %; README).
 */
const COPY_GAP_MS = 10;
/** A header bit of this path only (not the native route's): the packet carries zero playout delay. */
const ZERO_PLAYOUT = 8;

/** How `resend` answers a NACK. */
export interface ResendOptions {
  /** Each resend goes twice (COPY_GAP_MS apart), where the viewer takes RTX. */
  copy?: boolean;
  /** What the resends may take of the viewer's link, bit/s (resend-budget.ts); Infinity: no limit. */
  rateBps?: number;
}

/** What one packet needs on this path. */
export interface FastPacket {
  payload: Buffer;
  marker: boolean;
  /** The payload ends in RTP padding (its last byte counts it): the header's padding bit is set. */
  padding?: boolean;
}

/** A padding-only payload of PADDING_BYTES, its last byte their count; shared and never written to. */
const PADDING_PAYLOAD = Buffer.alloc(PADDING_BYTES);
PADDING_PAYLOAD[PADDING_BYTES - 1] = PADDING_BYTES;
const PADDING: FastPacket = { payload: PADDING_PAYLOAD, marker: false, padding: true };

/**
 * The relay's way out to one viewer track, after DTLS: the RTP header is
 * written once into the buffer that goes to the socket, the payload
 * encrypted after it (srtp-protect.ts), with no RtpPacket objects, clones or
 * promise chains per packet, and the datagram written straight to the
 * nominated pair's UDP socket (egress.ts). werift still owns everything
 * else on the connection: ICE, DTLS, RTCP in both directions (its sender
 * reports read the counters kept here, its SRTP context keeps the rollover
 * counter both paths share). NACKs are answered with the packets as they
 * were sent, byte for byte: the newest kept as sent, older ones written
 * again from a reference with the header fields they had (anything
 * different encrypted under the same sequence number would reuse its GCM
 * nonce).
 */
export class FastSender implements LaneSender {
  /** The last HISTORY datagrams as sent (the slab the native route writes into is theirs). */
  private readonly history = new SentDatagrams();
  /** The last packets sent (REFERENCES of video, HISTORY of audio), to be written again for NACKs past the history; when each was resent. Made at bind. */
  private sent: SentPackets | undefined;
  private protector: SrtpProtector | undefined;
  private context: LocalSrtpContext | undefined;
  /** The DTLS transport the keys came from, and the context's rollover state for the sender's SSRC (werift keeps one object per SSRC for good). */
  private dtls: SenderInternals["dtlsTransport"] | undefined;
  private ssrcState: SsrcState | undefined;
  /** The DTLS transport's ICE connection (werift makes one per transport). */
  private connection: IceConnection | undefined;
  private header: Buffer | undefined;
  /** Where the abs-send-time value goes in the header, or -1. */
  private absOffset = -1;
  /** Where the playout delay goes in the header, or -1 (the viewer did not take the extension). */
  private playoutOffset = -1;
  /** The playout delay the header template (and so the native route) carries: ZERO_PLAYOUT or 0. */
  private templatePlayout = 0;
  /** Zero playout delay while the viewer's link is clean (playout-delay.ts, clean-link.ts). */
  private readonly link = new CleanLink();
  /** With RTX (the viewer took it), the header resends go under: its payload type and SSRC. */
  private rtx: (HeaderLayout & { ssrc: number }) | undefined;
  /** The sender reports of the bound DTLS session. Made at bind. */
  private reports: SenderReports | undefined;
  /** When the last tick (TICK_MS) fell due; the last packet sent: when, and its RTP timestamp (what the tick's reports carry). */
  private tickAt = -Infinity;
  private lastAt = 0;
  private lastTimestamp = 0;
  /** What was sent since the last tick, for werift's sender, DTLS transport and nominated pair. */
  private readonly counts = new SendCounts();
  /** What the resends may take of the link (resend-budget.ts), and the packets asked for that it held back so far. */
  private readonly budget = new ResendBudget();
  private _heldBack = 0;
  /** Where the datagrams go: the nominated pair, its socket, the native route (left by a lane before it changes). */
  private readonly egress = new Egress(this.counts, this.history, () => {
    this.leaveLane();
    this.flush();
  });
  /** The native fan-out (fanout-lane.ts) this sender's packets go through while its DownTrack is steady, and its place there. */
  private lane: NativeLane | undefined;
  private entry: LaneEntry | undefined;

  constructor(private readonly sender: RTCRtpSender) {}

  /** The codec the header template was made for. */
  private codec: object | undefined;

  /**
   * True while the connection is up and this path can carry the sender's
   * packets: bound to the current DTLS session's keys and the current codec
   * (bound again when either changes).
   */
  get ready(): boolean {
    const s = this.sender as unknown as Partial<SenderInternals>;
    const dtls = this.dtls;
    if (dtls !== undefined && s.dtlsTransport === dtls && dtls.state === "connected" && dtls.srtp?.localContext === this.context && s.codec === this.codec)
      return true;
    this.leaveLane();
    this.flush();
    this.protector = this.context = this.dtls = this.ssrcState = this.connection = undefined;
    return this.bind();
  }

  /**
   * Sends one packet; returns the datagram's size, or 0 when this path
   * cannot (yet) and the caller should let werift send it.
   */
  send(packet: FastPacket, sequenceNumber: number, timestamp: number): number {
    const now = performance.now();
    const tick = now - this.tickAt >= TICK_MS;
    if (this.dtls === undefined && !this.ready) return 0;
    const connection = this.connection as IceConnection;
    const egress = this.egress;
    egress.check(connection);
    const payload = packet.payload;
    const state = this.ssrcState as SsrcState;
    (this.context as LocalSrtpContext).updateRolloverCount(sequenceNumber, state);
    const roc = state.rolloverCounter;
    const abs = this.absOffset >= 0 ? absSendTime(now) : 0;
    const idle = egress.idle();
    const bits = headerBits(packet) | this.playoutBit(now);
    const sent = idle && egress.native ? egress.sendNative(connection, payload, bits, sequenceNumber, timestamp, abs, roc) : 0;
    const size = sent !== 0 ? sent : this.sendWritten(payload, bits, sequenceNumber, timestamp, abs, roc, idle);
    // Padding is not resent: on a link a probe found congested, resends would only add to it.
    if ((bits & RTP_PADDING) === 0) (this.sent as SentPackets).remember(sequenceNumber, payload, bits, timestamp, abs, roc);
    this.counts.packet(payload.length, (this.header as Buffer).length, (bits & RTP_PADDING) !== 0);
    this.lastAt = now;
    this.lastTimestamp = timestamp;
    if (tick) {
      this.tickAt = now;
      queueTick(this);
    }
    return size;
  }

  /**
   * The tick (TICK_MS), run from the tick queue (ticks.ts) after the packet that brought it:
   * the binding checked (taken again, or let go, when it changed), what the
   * sender reports and werift's stats read, as of the last packet sent, and
   * a sender report when due.
   */
  tick(): void {
    if (!this.ready) return;
    const s = this.sender as unknown as SenderInternals;
    s.ntpTimestamp = ntpTime(this.lastAt);
    s.rtpTimestamp = this.lastTimestamp >>> 0;
    this.flush();
    const reports = this.reports as SenderReports;
    // Unless werift's own loop of them runs (something went through its sendRtp): one sender's reports, not two.
    if (reports.due(performance.now()) && s.rtcpRunning !== true) this.transmit(reports.datagram(s, s.ntpTimestamp, s.rtpTimestamp));
  }

  /** Adds what was sent since the last tick (through a lane too) into werift's sender, DTLS transport and pair. */
  private flush(): void {
    if (this.entry !== undefined) this.lane?.handOver(this.entry);
    this.counts.flushInto(this.sender as unknown as SenderInternals, this.dtls, this.egress.nominated);
  }

  /**
   * Sends one padding-only packet (PADDING_BYTES of padding) under
   * `sequenceNumber`, stamped `timestamp` (the last frame's): what a probe of
   * the viewer's link is made of. Only on this path: false, and nothing
   * sent, while it is not ready. Never resent (a NACK for it goes unanswered).
   */
  sendPadding(sequenceNumber: number, timestamp: number): boolean {
    return this.send(PADDING, sequenceNumber, timestamp) > 0;
  }

  /**
   * Sends a sender report now, besides the ones every REPORT_MS: false
   * until this path has sent media. It carries a time of its own, the RTP
   * timestamp carried on from the last packet's at the codec's clock rate:
   * reports carry the time of the tick before them, and one sent before the
   * next tick would carry the same time as the last, leaving the viewer's
   * answer ambiguous (seen in a test: round trips 300 ms short).
   */
  senderReport(now = performance.now()): boolean {
    const s = this.sender as unknown as SenderInternals;
    const clockRate = s.codec?.clockRate;
    if (!clockRate || !this.ready || this.reports?.started !== true) return false;
    this.flush();
    const ntp = ntpTime(now);
    const rtp = s.rtpTimestamp + Math.round((Number(ntp - s.ntpTimestamp) / 2 ** 32) * clockRate);
    this.transmit(this.reports.datagram(s, ntp, rtp));
    return true;
  }

  /** The TypeScript way (and the native one for what a route cannot take): the packet laid out in a buffer, protected, then sent. */
  private sendWritten(payload: Buffer, bits: number, sequenceNumber: number, timestamp: number, abs: number, roc: number, idle: boolean): number {
    const out = this.history.buffer(sequenceNumber, this.datagramBytes(payload), idle);
    this.write(out, payload, bits, sequenceNumber, timestamp, abs, roc);
    this.history.written(sequenceNumber, out);
    this.transmit(out, idle);
    return out.length;
  }

  /** The size of the datagram carrying `payload`. */
  private datagramBytes(payload: Buffer): number {
    return (this.header as Buffer).length + payload.length + (this.protector as SrtpProtector).trailer;
  }

  /** Lays out one packet in `out` from the header template (the video's, or `under` another SSRC's), and protects it. */
  private write(
    out: Buffer,
    payload: Buffer,
    bits: number,
    sequenceNumber: number,
    timestamp: number,
    abs: number,
    roc: number,
    under?: HeaderLayout & { ssrc: number },
  ): void {
    const template = under ? under.header : (this.header as Buffer);
    const absOffset = under ? under.absOffset : this.absOffset;
    const playoutOffset = under ? under.playoutOffset : this.playoutOffset;
    template.copy(out, 0);
    if (bits & RTP_PADDING) out[0] |= 0x20;
    out[1] = (bits & RTP_MARKER ? 0x80 : 0) | (out[1] & 0x7f);
    out.writeUInt16BE(sequenceNumber, 2);
    out.writeUInt32BE(timestamp >>> 0, 4);
    if (absOffset >= 0) out.writeUIntBE(abs, absOffset, 3);
    if (playoutOffset >= 0) out.writeUIntBE(bits & ZERO_PLAYOUT ? ZERO_DELAY : BROWSER_DELAY, playoutOffset, 3);
    const ssrc = under?.ssrc ?? (this.sender as unknown as SenderInternals).ssrc;
    (this.protector as SrtpProtector).protect(out, template.length, payload, ssrc, sequenceNumber, roc);
  }

  /**
   * A packet past the history, written again from its reference exactly as
   * it was first sent (the same header bits, playout delay and abs-send-time
   * under the same keys: the same bytes, so no GCM nonce is used for
   * anything else).
   */
  private rewritten(entry: number): Buffer {
    const sent = this.sent as SentPackets;
    const payload = this.keptPayload(entry);
    const out = Buffer.allocUnsafe(this.datagramBytes(payload));
    this.write(out, payload, sent.bits(entry), sent.seq(entry), sent.timestamp(entry), sent.abs(entry), sent.roc(entry));
    return out;
  }

  /** Entry `entry`'s payload as it was sent: with the picture ID offsets the fan-out added, when it did. */
  private keptPayload(entry: number): Buffer {
    const sent = this.sent as SentPackets;
    // takeForResend gave the entry: its payload is kept.
    const payload = sent.payload(entry) as Buffer;
    const ids = sent.ids(entry);
    if ((ids & IDS_SHIFTED) === 0) return payload;
    const mime = (this.sender as unknown as Partial<SenderInternals>).codec?.mimeType?.toLowerCase();
    const locate = mime === undefined ? undefined : idLocator(mime);
    return locate === undefined ? payload : shiftIds(payload, locate, ids & 0x7fff, (ids >>> 16) & 0xff);
  }

  /**
   * Packet `entry` again as an RTX packet (RFC 4588): its own sequence
   * number, then its payload, under the RTX payload type and SSRC, the next
   * RTX sequence number (werift's counter, which its own resends take too)
   * and the abs-send-time of now (a new packet on the wire: the viewer's
   * estimate reads its send time). The viewer's receiver reports then count
   * only what its link lost of the video's own packets, and none of the
   * resends (loss-meter.ts).
   */
  private retransmission(entry: number, now: number): Buffer {
    const s = this.sender as unknown as SenderInternals;
    const sent = this.sent as SentPackets;
    const rtx = this.rtx as NonNullable<typeof this.rtx>;
    const original = this.keptPayload(entry);
    const payload = Buffer.allocUnsafe(2 + original.length);
    payload.writeUInt16BE(sent.seq(entry), 0);
    original.copy(payload, 2);
    const seq = (s.rtxSequenceNumber as number) & 0xffff;
    s.rtxSequenceNumber = (seq + 1) & 0xffff;
    const context = this.context as LocalSrtpContext;
    const state = context.getSrtpSsrcState(rtx.ssrc);
    context.updateRolloverCount(seq, state);
    const out = Buffer.allocUnsafe(rtx.header.length + payload.length + (this.protector as SrtpProtector).trailer);
    this.write(out, payload, (sent.bits(entry) & RTP_MARKER) | this.playoutBit(now), seq, sent.timestamp(entry), absSendTime(now), state.rolloverCounter, rtx);
    return out;
  }

  /**
   * Resends what is still kept of `lost`, except a packet resent less than
   * half a round trip ago (MIN_RESEND_GAP_MS at least); returns how many
   * went out. With RTX each goes as an RTX packet (`retransmission`), else as
   * first sent (from the history, or written again from its reference).
   * With `copy` and RTX (`copiesResends`), each goes again COPY_GAP_MS
   * later, the same datagram (a copy on the video's own SSRC would count
   * twice in the viewer's receiver reports and hide its loss); the copies
   * are not counted in the return value or in werift's resend counts (the
   * loss meter reads those as what the link cost in repair). With
   * `rateBps`, the resends (copies included) take at most that rate of the
   * link (resend-budget.ts): the rest of `lost` waits for the viewer's
   * next ask.
   */
  resend(lost: readonly number[], now = performance.now(), { copy = false, rateBps = Infinity }: ResendOptions = {}): number {
    const s = this.sender as unknown as SenderInternals;
    const kept = this.sent;
    if (kept === undefined || this.header === undefined || this.protector === undefined) return 0;
    // The viewer misses packets: its jitter buffer is handed back before the resends go.
    if (lost.length > 0) this.link.nack(now);
    // In a lane, the header it sends with changes now (the route is made anew: it leaves).
    if (this.entry !== undefined) this.playoutBit(now);
    const gap = Math.max(MIN_RESEND_GAP_MS, (s.rtt ?? 0) * 500);
    const budget = this.budget;
    budget.refill(now, rateBps);
    let sent = 0;
    const copies: Buffer[] | undefined = copy && this.copiesResends ? [] : undefined;
    for (let i = 0; i < lost.length; i++) {
      if (!budget.open) {
        this._heldBack += lost.length - i;
        break;
      }
      const number = lost[i];
      // werift reads a NACK's bitmask without wrapping: 65535 + 2 means 1.
      const seq = number & 0xffff;
      const entry = kept.takeForResend(seq, now, gap);
      if (entry < 0) continue;
      const packet = this.rtx ? this.retransmission(entry, now) : (this.history.get(seq) ?? this.rewritten(entry));
      this.transmit(packet);
      budget.spend(copies ? 2 * packet.length : packet.length);
      s.retransmittedPacketsSent = (s.retransmittedPacketsSent ?? 0) + 1;
      s.retransmittedBytesSent = (s.retransmittedBytesSent ?? 0) + packet.length;
      copies?.push(packet);
      sent++;
    }
    if (copies === undefined || copies.length === 0) return sent;
    const dtls = this.dtls;
    setTimeout(() => {
      // Under the keys they were written with only (each an RTX packet of its own, never a history slot reused since).
      if (this.dtls !== dtls || dtls?.state !== "connected") return;
      for (const packet of copies) this.transmit(packet);
    }, COPY_GAP_MS).unref();
    return sent;
  }

  /** Packets asked for that `resend` did not send for its rate (`rateBps`), so far. */
  get heldBack(): number {
    return this._heldBack;
  }

  /** True when `resend` with `copy` sends each resend twice: its resends go on RTX. */
  get copiesResends(): boolean {
    return this.rtx !== undefined;
  }

  /** Hands a datagram to the nominated pair. Only called bound (send after `ready`, resend with its keys): the connection is the bound transport's. */
  private transmit(datagram: Buffer, idle = this.egress.idle()): void {
    this.egress.transmit(this.connection as IceConnection, datagram, idle);
  }

  /**
   * ZERO_PLAYOUT when a packet sent now goes with zero playout delay, else
   * 0 (also without the extension). Keeps the header template, and so the
   * native route made from it, carrying the same: a change makes the route
   * anew (rare: the policy holds each state for seconds).
   */
  private playoutBit(now: number): number {
    const bit = this.playoutWanted(now);
    if (bit !== this.templatePlayout) {
      this.templatePlayout = bit;
      (this.header as Buffer).writeUIntBE(bit ? ZERO_DELAY : BROWSER_DELAY, this.playoutOffset, 3);
      this.egress.rebuild();
    }
    return bit;
  }

  /** ZERO_PLAYOUT when a packet sent now should carry zero playout delay, else 0 (also without the extension). */
  private playoutWanted(now: number): number {
    return this.playoutOffset >= 0 && this.link.clean(now) ? ZERO_PLAYOUT : 0;
  }

  /**
   * Joins `lane` (a new one for `codec` when undefined) with its DownTrack's
   * offsets: from the next packet on, the lane sends for it. Only while its
   * own path would take the native route at once (bound, the pair's socket
   * idle, the connection allowed to send). Returns the lane, or undefined.
   */
  joinLane(lane: NativeLane | undefined, codec: TrackCodec, observer: RelayObserver, offsets: LaneOffsets, member: LaneMember): NativeLane | undefined {
    if (!nativeFanout || this.entry !== undefined || this.dtls === undefined || this.sent === undefined || this.header === undefined) return undefined;
    // A pair with no native route (TURN, TCP, IPv6) never joins: asked per packet, it answers before any more work.
    if (!this.egress.native) return undefined;
    this.playoutBit(performance.now());
    const route = this.egress.laneRoute(this.connection as IceConnection);
    if (route === undefined || this.dtls === undefined) return undefined;
    const joined = lane ?? new NativeLane(codec, observer);
    this.entry = joined.add(this, member, route, this.sent, this.history.entries, offsets, this.templatePlayout, this.ssrcState as SsrcState);
    this.lane = joined;
    this.egress.onBusy(() => this.leaveLane());
    return joined;
  }

  /** Leaves its lane, if in one. */
  leaveLane(): void {
    if (this.entry !== undefined) this.lane?.remove(this.entry);
  }

  laneSynced(state: Float64Array, at: number, timestamp: number): void {
    const packets = state[LANE_PACKETS];
    if (packets > 0) {
      this.counts.lane(packets, state[LANE_PAYLOAD_BYTES], packets * (this.header as Buffer).length, state[LANE_DATAGRAM_BYTES]);
      this.lastAt = at;
      this.lastTimestamp = timestamp;
    }
    const ssrc = this.ssrcState;
    if (ssrc !== undefined) {
      ssrc.rolloverCounter = state[LANE_ROC];
      ssrc.lastSequenceNumber = state[LANE_LAST_SEQ];
      ssrc.rolloverHasProcessed = state[LANE_ROC_STARTED] === 1;
    }
  }

  laneTick(now: number): void {
    const connection = this.connection;
    if (connection === undefined || !this.egress.laneStillRoutes(connection) || this.playoutWanted(now) !== this.templatePlayout) {
      this.leaveLane();
      return;
    }
    this.tickAt = now;
    queueTick(this);
  }

  laneLeft(): void {
    this.entry = undefined;
    this.lane = undefined;
    this.egress.onBusy(undefined);
  }

  laneUnsent(packet: RelayPacket, seq: number, timestamp: number, size: number): void {
    if (size === 0) this.send(packet, seq, timestamp);
    else if (this.connection !== undefined) this.egress.sendFromSlot(this.connection, seq);
  }

  /** Takes the keys and header layout from werift once DTLS is up; false while it is not. */
  private bind(): boolean {
    const s = this.sender as unknown as Partial<SenderInternals>;
    const dtls = s.dtlsTransport;
    const context = dtls?.state === "connected" ? dtls.srtp?.localContext : undefined;
    if (!dtls || !context || !s.codec || typeof s.ssrc !== "number") return false;
    const rtx = s.rtxPayloadType;
    if (rtx !== undefined && (typeof s.rtxSsrc !== "number" || typeof s.rtxSequenceNumber !== "number")) return false;
    const rtcp: LocalSrtcpContext | undefined = dtls.srtcp?.localContext;
    if (typeof context.getSrtpSsrcState !== "function" || typeof context.updateRolloverCount !== "function" || typeof rtcp?.getSrtcpSsrcState !== "function")
      return false;
    try {
      this.protector = new SrtpProtector({
        profile: context.profile,
        key: context.srtpSessionKey,
        salt: context.srtpSessionSalt,
        authKey: context.srtpSessionAuthTag,
      });
      this.reports = new SenderReports(rtcp, s.ssrc, s.cname);
    } catch {
      return false;
    }
    this.context = context;
    this.dtls = dtls;
    this.connection = dtls.iceTransport.connection;
    this.ssrcState = context.getSrtpSsrcState(s.ssrc);
    this.codec = s.codec;
    const layout = headerTemplate(s.codec.payloadType, s.ssrc, s.headerExtensions ?? [], s.mid, BROWSER_DELAY);
    this.header = layout.header;
    this.absOffset = layout.absOffset;
    this.playoutOffset = layout.playoutOffset;
    this.templatePlayout = 0;
    if (rtx !== undefined) {
      const ssrc = s.rtxSsrc as number;
      this.rtx = { ...headerTemplate(rtx, ssrc, s.headerExtensions ?? [], s.mid), ssrc };
    } else {
      this.rtx = undefined;
    }
    const audio = s.codec.mimeType?.toLowerCase().startsWith("audio/") === true;
    // What was sent under other keys or another header is not written again.
    this.sent = new SentPackets(audio ? HISTORY : REFERENCES);
    // A new session or codec: a new route, pointed where the old one was.
    const handle = this.protector.nativeHandle;
    this.egress.rebuild(handle === undefined ? undefined : { handle, header: this.header, absOffset: this.absOffset, ssrc: s.ssrc, audio });
    return true;
  }
}

/** A packet's header bits as sendRtp and write() take them. */
const headerBits = (packet: FastPacket): number => (packet.marker ? RTP_MARKER : 0) | (packet.padding === true ? RTP_PADDING : 0);
