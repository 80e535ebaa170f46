import { RtpHeader, RtpPacket, type RTCRtpSender } from "werift";
import type { Logger } from "../log.js";
import type { DownSink } from "../relay/down-track.js";
import type { RelayObserver } from "../relay/observer.js";
import type { RelayPacket } from "../relay/up-track.js";
import { errorText } from "./errors.js";
import { FastSender } from "./fast-sender.js";

/** A DownSink that also answers NACKs from what it sent. */
export interface SenderSink extends DownSink {
  /** Resends the packets of `lost` it still keeps; returns how many. */
  resend(lost: readonly number[]): number;
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
  return {
    send(packet: RelayPacket, sequenceNumber: number, timestamp: number): void {
      if (fast.send(packet, sequenceNumber, timestamp) > 0) {
        observer.packetOut(kind, packet.payload.length, performance.now() - packet.receivedAt);
        return;
      }
      observer.sentThroughWerift(kind);
      const header = new RtpHeader({ sequenceNumber, timestamp, marker: packet.marker, payloadType: 0 });
      sender.sendRtp(new RtpPacket(header, packet.payload)).then(
        () => observer.packetOut(kind, packet.payload.length, performance.now() - packet.receivedAt),
        (err: unknown) => log.debug("sendRtp failed", { err: errorText(err) }),
      );
    },
    resend: (lost) => fast.resend(lost),
  };
}
