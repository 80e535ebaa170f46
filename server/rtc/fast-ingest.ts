import type { MediaStreamTrack, RTCPeerConnection, RTCRtpReceiver } from "werift";
import type { Logger } from "../log.js";
import { errorText } from "./errors.js";
import { rtpHeaderBytes } from "./srtp-receive.js";

/** The werift 0.25 internals read here; none is in its typings, and each is checked before use. */
interface WeriftEvent {
  execute: (...args: unknown[]) => void;
  ended?: boolean;
  event?: Listeners;
}
/** An event's listeners: werift replaces the object when it drops them all, the array when one unsubscribes, and counts every subscription. */
interface Listeners {
  stack: unknown[];
  promiseStack: unknown[];
  eventId: number;
}
interface StreamStatistics {
  add(packet: StatsPacket): void;
}
interface ReceiverInternals {
  stopped?: boolean;
  /** The negotiated generic NACK feedback, when there is one. */
  nackEnabled?: unknown;
  /** The negotiated transport-cc feedback, when there is one. */
  twccEnabled?: unknown;
  /** Made at the SSRC's first packet when transport-wide congestion control was negotiated: it answers with feedback the device's bandwidth estimate reads. */
  receiverTWCC?: { handleTWCC?(transportSequenceNumber: number | undefined): void };
  remoteStreams?: Record<number, StreamStatistics | undefined>;
  trackBySSRC?: Record<number, MediaStreamTrack | undefined>;
  codecs?: Record<number, { name?: string } | undefined>;
}
interface TransportInternals {
  srtp?: { decrypt?: (packet: Buffer) => Buffer };
  bytesReceived?: number;
  packetsReceived?: number;
  iceTransport?: { connection?: { onData?: WeriftEvent } };
}
/** What werift's StreamStatistics.add reads of a packet. */
interface StatsPacket {
  header: { sequenceNumber: number; timestamp: number; serializeSize: number };
  payload: Buffer;
}

/** Where one SSRC's packets go on this path. */
interface Route {
  payloadType: number;
  receiver: ReceiverInternals;
  /** The track's onReceiveRtp, and its listeners when the SSRC was learnt (WERIFT_AND_RELAY): this path stands in for it only while they are the same. */
  delivery: WeriftEvent;
  listeners: Listeners;
  subscriptions: number;
  stack: unknown[];
  stats: StreamStatistics;
  /** Reused for the statistics of each packet (werift's add keeps no reference). */
  packet: StatsPacket;
  target: IngestTarget;
  /** The receiver's transport-wide feedback takes every packet (with no sequence number: its header extension is not negotiated). */
  twcc: boolean;
}

/** Receivers whose werift loss detector the relay silenced (publisher.ts takeNacks): werift's own needs no packet of theirs. */
export const nacksTaken = new WeakSet<object>();

/** Packets taken past werift's chain since the process started (tests read it). */
export const ingestCounts = { direct: 0 };

/** Where a learnt SSRC's packets go: the relay's UpTrack. */
export interface IngestTarget {
  push(sequenceNumber: number, timestamp: number, marker: boolean, payload: Buffer): void;
}

/**
 * A device's RTP past werift's receive chain, once werift has routed an
 * SSRC's first packets to the relay: the datagram goes from the ICE
 * connection straight to the session's decrypt (the native one,
 * srtp-receive.ts), a header read of its own and the UpTrack's push.
 * werift's chain costs most of what a publishing device costs the server
 * (perf, no viewers: 56 % of its samples from dgram's receive on, against
 * 3.8 % for the decrypt and 1.8 % for the push): five emitters that each
 * start an async function per packet, a header parsed into objects twice,
 * the router's extension parse, the receiver's clone and a promise for its
 * RTCP loop. What of it matters is kept: the DTLS transport's and
 * receiver's counts and the receiver's statistics (its receiver reports
 * and getStats read them), and what its transport-wide feedback is given.
 * Anything else goes werift's way: RTCP, RTX, RED, other payload types,
 * SSRCs not learnt, a track whose listeners changed since (another
 * subscribed, one left), a receiver with werift's own NACK detector, a
 * stopped one.
 */
export class FastIngest {
  private readonly routes = new Map<number, Route>();
  private attached = false;
  /** The connection's negotiated header extensions, id to URI (werift's router keeps them). */
  private extensionUris: () => Record<number, string | undefined> = () => ({});

  constructor(private readonly log: Logger) {}

  /** Takes over `pc`'s ICE connections' datagrams (call after setLocalDescription). False when werift's internals are not as expected. */
  attach(pc: RTCPeerConnection): boolean {
    if (this.attached) return true;
    const transports = (pc as unknown as { dtlsTransports?: TransportInternals[] }).dtlsTransports ?? [];
    for (const transport of transports) {
      const onData = transport.iceTransport?.connection?.onData;
      if (!onData || typeof onData.execute !== "function") return false;
    }
    for (const transport of transports) {
      const onData = transport.iceTransport?.connection?.onData as WeriftEvent;
      const original = onData.execute;
      onData.execute = (...args: unknown[]) => {
        if (!this.take(transport, args[0])) original(...args);
      };
    }
    this.attached = transports.length > 0;
    this.extensionUris = () => (pc as unknown as { extIdUriMap?: Record<number, string | undefined> }).extIdUriMap ?? {};
    return this.attached;
  }

  /**
   * After werift delivered a packet of `ssrc` with `payloadType` to the
   * relay's listener on `track`: the SSRC's next ones take this path when
   * werift would only have counted them and handed them to that listener
   * (again, when its listeners changed since it was last learnt).
   */
  learn(ssrc: number, payloadType: number, receiver: RTCRtpReceiver, track: MediaStreamTrack, target: IngestTarget): void {
    const known = this.routes.get(ssrc);
    if (!this.attached || (known !== undefined && unchanged(known))) return;
    const r = receiver as unknown as ReceiverInternals;
    const delivery = (track as unknown as { onReceiveRtp?: WeriftEvent }).onReceiveRtp;
    const stats = r.remoteStreams?.[ssrc];
    const codec = r.codecs?.[payloadType]?.name?.toLowerCase();
    const listeners = delivery?.event;
    if (
      !delivery ||
      !listeners ||
      listeners.stack.length > WERIFT_AND_RELAY ||
      listeners.promiseStack.length > 0 ||
      !stats ||
      typeof stats.add !== "function" ||
      r.trackBySSRC?.[ssrc] !== track
    )
      return;
    if (codec === undefined || codec === "rtx" || codec === "red") return;
    const twcc = r.twccEnabled !== undefined || r.receiverTWCC !== undefined;
    // werift sets its feedback up at the first packet. Devices offer the feedback (Chromium does) but the server takes no
    // transport-wide sequence numbers (peer-config.ts): were they negotiated, werift's chain would keep the SSRC and read them.
    if (twcc && (typeof r.receiverTWCC?.handleTWCC !== "function" || Object.values(this.extensionUris()).includes(TRANSPORT_WIDE_CC))) return;
    // werift's loss detector wants every video packet, unless the relay silenced it.
    if (track.kind === "video" && r.nackEnabled && !nacksTaken.has(receiver)) return;
    const packet: StatsPacket = { header: { sequenceNumber: 0, timestamp: 0, serializeSize: 0 }, payload: EMPTY };
    const subscriptions = listeners.eventId;
    this.routes.set(ssrc, { payloadType, receiver: r, delivery, listeners, subscriptions, stack: listeners.stack, stats, packet, target, twcc });
  }

  /** Forgets every SSRC: werift's chain carries everything again. */
  clear(): void {
    this.routes.clear();
  }

  /** Handles one datagram from the ICE connection; false when it is werift's to handle. */
  private take(transport: TransportInternals, data: unknown): boolean {
    if (this.routes.size === 0 || !Buffer.isBuffer(data) || data.length < 12) return false;
    const b0 = data[0];
    const b1 = data[1];
    // RTP (not RTCP, DTLS or STUN), version 2.
    if (b0 < 128 || b0 > 191 || (b1 >= 192 && b1 <= 208)) return false;
    const route = this.routes.get(data.readUInt32BE(8));
    if (route === undefined || (b1 & 0x7f) !== route.payloadType || route.receiver.stopped) return false;
    if (!unchanged(route)) return false;
    const decrypt = transport.srtp?.decrypt;
    if (typeof decrypt !== "function") return false;
    // From here on the packet is this path's, as werift's transport would have had it: counted, then opened or dropped.
    transport.bytesReceived = (transport.bytesReceived ?? 0) + data.length;
    transport.packetsReceived = (transport.packetsReceived ?? 0) + 1;
    let packet: Buffer;
    try {
      packet = decrypt(data);
    } catch {
      return true; // not genuine: werift drops it the same way
    }
    const payloadAt = rtpHeaderBytes(packet, 0);
    if (payloadAt < 0) return true; // a header running past the packet: dropped (werift's parse throws on most such)
    const end = packet[0] & 0x20 ? packet.length - packet[packet.length - 1] : packet.length;
    const payload = packet.subarray(payloadAt, Math.max(payloadAt, end));
    const sequenceNumber = packet.readUInt16BE(2);
    const timestamp = packet.readUInt32BE(4);
    const stats = route.packet;
    stats.header.sequenceNumber = sequenceNumber;
    stats.header.timestamp = timestamp;
    stats.header.serializeSize = payloadAt;
    stats.payload = payload;
    route.stats.add(stats);
    stats.payload = EMPTY;
    // As werift's receiver does with every packet: with no extension negotiated, the number is undefined.
    if (route.twcc) route.receiver.receiverTWCC?.handleTWCC?.(undefined);
    ingestCounts.direct++;
    try {
      route.target.push(sequenceNumber, timestamp, (packet[1] & 0x80) !== 0, payload);
    } catch (err) {
      this.log.warn("device packet", { err: errorText(err) });
    }
    return true;
  }
}

const EMPTY = Buffer.alloc(0);
const TRANSPORT_WIDE_CC = "http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01";

/**
 * The listeners a device track has when the relay is its only user: the
 * one werift's MediaStreamTrack subscribes in its constructor (it notes the
 * last header, which nothing reads) and the relay's. Any more, and the
 * SSRC stays on werift's chain, which hands the packets to each.
 */
const WERIFT_AND_RELAY = 2;

/** True while the track's listeners are the ones there were when the route was learnt. */
function unchanged(route: Route): boolean {
  const listeners = route.delivery.event;
  return route.delivery.ended !== true && listeners === route.listeners && listeners.eventId === route.subscriptions && listeners.stack === route.stack;
}
