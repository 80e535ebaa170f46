import type { IcePair, SenderInternals } from "./sender-internals.js";

/**
 * What a fast sender (fast-sender.ts) sent since its last tick, kept on
 * its own so that a packet writes no werift object: added into werift's
 * sender (its sender reports' packet and octet counts, its stats' header
 * bytes), DTLS transport and ICE pair at each tick, and whenever they are
 * about to change or be read.
 */
export class SendCounts {
  packets = 0;
  /** Payload bytes, padding-only packets' not counted (RFC 3550 §6.4.1). */
  octets = 0;
  headerBytes = 0;
  /** Datagrams (and their bytes) on the DTLS transport, and on the nominated pair. */
  datagrams = 0;
  datagramBytes = 0;
  pairDatagrams = 0;
  pairBytes = 0;

  /** One RTP packet; `padding`: a padding-only one. */
  packet(payloadBytes: number, headerBytes: number, padding: boolean): void {
    this.packets++;
    if (!padding) this.octets += payloadBytes;
    this.headerBytes += headerBytes;
  }

  /** One datagram on the transport; `onPair`: handed to the pair's socket too. */
  datagram(bytes: number, onPair: boolean): void {
    this.datagrams++;
    this.datagramBytes += bytes;
    if (onPair) {
      this.pairDatagrams++;
      this.pairBytes += bytes;
    }
  }

  /** What the native fan-out sent: `packets` packets (none padding), each one datagram on the pair. */
  lane(packets: number, payloadBytes: number, headerBytes: number, datagramBytes: number): void {
    this.packets += packets;
    this.octets += payloadBytes;
    this.headerBytes += headerBytes;
    this.datagrams += packets;
    this.datagramBytes += datagramBytes;
    this.pairDatagrams += packets;
    this.pairBytes += datagramBytes;
  }

  /** Adds the counts into werift's objects (the transport's and pair's where there are ones) and starts again from zero. */
  flushInto(sender: SenderInternals, dtls: SenderInternals["dtlsTransport"] | undefined, pair: IcePair | undefined): void {
    if (this.packets === 0 && this.datagrams === 0) return;
    sender.packetCount = (sender.packetCount + this.packets) >>> 0;
    sender.octetCount += this.octets;
    sender.headerBytesSent += this.headerBytes;
    if (dtls !== undefined) {
      dtls.packetsSent += this.datagrams;
      dtls.bytesSent += this.datagramBytes;
    }
    if (pair !== undefined) {
      pair.packetsSent += this.pairDatagrams;
      pair.bytesSent += this.pairBytes;
    }
    this.packets = this.octets = this.headerBytes = 0;
    this.datagrams = this.datagramBytes = this.pairDatagrams = this.pairBytes = 0;
  }
}
