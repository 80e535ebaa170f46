import { RtpHeader, RtpPacket, type RTCRtpSender } from "werift";
import type { Logger } from "../log.js";
import type { DownSink } from "../relay/down-track.js";
import type { RelayObserver } from "../relay/observer.js";
import type { RelayPacket } from "../relay/up-track.js";
import { errorText } from "./errors.js";
import { FastSender, type ResendOptions } from "./fast-sender.js";
import { NativeLane } from "./fanout-lane.js";

/** How long a werift send may stay unsettled before the fast path stops waiting for it, ms. */
const WERIFT_SETTLE_MS = 500;

/** A DownSink that also answers NACKs from what it sent. */
export interface SenderSink extends DownSink {
  /** Resends the packets of `lost` it still keeps, as `options` say (FastSender.resend); returns how many (copies not counted). */
  resend(lost: readonly number[], options?: ResendOptions): number;
}

/**
 * A DownSink writing to a werift sender's connection: through the fast path
 * (fast-sender.ts) once DTLS is up, through werift's `sendRtp` before that.
 * Header extensions are not copied from the source: its extension ids mean
 * nothing on this hop; the ones negotiated here are written, with this
 * sender's SSRC and payload type.
 */
export function senderSink(sender: RTCRtpSender, kind: "video" | "audio", observer: RelayObserver, log: Logger): SenderSink {
  const fast = new FastSender(sender);
  /**
   * Packets werift is still sending: its path takes a few turns of the event
   * loop, so the fast path (whose datagram leaves at once) waits for them,
   * or a viewer's first keyframe could arrive after the packets behind it.
   * A send werift never settles stops counting after WERIFT_SETTLE_MS.
   */
  let viaWerift = 0;
  let lastViaWerift = 0;
  const settled = () => {
    viaWerift--;
  };
  return {
    send(packet: RelayPacket, sequenceNumber: number, timestamp: number): void {
      // The clock is read only while werift has sends out, and after the fast path's write (the latency counts it).
      if ((viaWerift === 0 || performance.now() - lastViaWerift > WERIFT_SETTLE_MS) && fast.send(packet, sequenceNumber, timestamp) > 0) {
        observer.packetOut(kind, packet.payload.length, performance.now() - packet.receivedAt);
        return;
      }
      observer.sentThroughWerift(kind);
      viaWerift++;
      lastViaWerift = performance.now();
      const header = new RtpHeader({ sequenceNumber, timestamp, marker: packet.marker, payloadType: 0 });
      sender.sendRtp(new RtpPacket(header, packet.payload)).then(
        () => {
          settled();
          observer.packetOut(kind, packet.payload.length, performance.now() - packet.receivedAt);
        },
        (err: unknown) => {
          settled();
          log.debug("sendRtp failed", { err: errorText(err) });
        },
      );
    },
    resend(lost, options = {}): number {
      const heldBack = fast.heldBack;
      const sent = fast.resend(lost, performance.now(), options);
      if (fast.heldBack > heldBack) observer.resendsHeldBack(fast.heldBack - heldBack);
      // The copies are resends on the wire: the metric counts them (werift's count, which the rest is read from, does not).
      if (options.copy === true && sent > 0 && fast.copiesResends) observer.retransmitted(sent);
      return sent;
    },
    joinLane(lane, codec, offsets, member) {
      // Not while werift still sends some of its packets, nor into another kind of lane.
      if (viaWerift > 0 && performance.now() - lastViaWerift <= WERIFT_SETTLE_MS) return undefined;
      if (lane !== undefined && !(lane instanceof NativeLane)) return undefined;
      return fast.joinLane(lane, codec, observer, offsets, member);
    },
    leaveLane: () => fast.leaveLane(),
    sendPadding: (sequenceNumber, timestamp) => fast.sendPadding(sequenceNumber, timestamp),
    senderReport: () => fast.senderReport(),
  };
}
