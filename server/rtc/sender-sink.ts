import { RtpHeader, RtpPacket, type RTCRtpSender } from "werift";
import type { Logger } from "../log.js";
import type { DownSink } from "../relay/down-track.js";
import type { RelayObserver } from "../relay/observer.js";
import type { RelayPacket } from "../relay/up-track.js";
import { errorText } from "./errors.js";

/**
 * A DownSink writing through a werift sender. Header extensions are not
 * copied: the source's extension ids mean nothing on this hop; werift writes
 * the ones negotiated here, the SSRC and the payload type.
 */
export function senderSink(sender: RTCRtpSender, kind: "video" | "audio", observer: RelayObserver, log: Logger): DownSink {
  return {
    send(packet: RelayPacket, sequenceNumber: number, timestamp: number): void {
      const header = new RtpHeader({ sequenceNumber, timestamp, marker: packet.marker, payloadType: 0 });
      sender.sendRtp(new RtpPacket(header, packet.payload)).then(
        () => observer.packetOut(kind, packet.payload.length, performance.now() - packet.receivedAt),
        (err: unknown) => log.debug("sendRtp failed", { err: errorText(err) }),
      );
    },
  };
}
