import { RTCRtpSender, type RTCPeerConnection } from "werift";

/**
 * werift 0.25 hands a payload-specific feedback packet (RFC 4585: a PLI)
 * to whatever its SSRC table holds under the packet's *sender* SSRC, and
 * only when that is nothing, to the media source it is about. Chromium
 * sends its video feedback under the SSRC of a stream it sends on the same
 * connection, its talk-back audio, which werift holds as a receiver: every
 * PLI a Chromium viewer sent went to that audio receiver, none reached the
 * video sender it asked, and no keyframe was asked for. A viewer that lost
 * a keyframe's packet for good then waited for the source's next periodic
 * keyframe: on a still host display idling at 2 frames a second (a keyframe
 * every 300 frames), for minutes (seen over 5 % loss and 40 ± 30 ms: 1 join
 * in about 25 without a picture for 60 s, 278 PLIs sent and unanswered).
 *
 * The fix routes such a packet to the sender of its media source when the
 * connection has one, and leaves the rest to werift: REMB, which names its
 * SSRCs in its own body; a FIR, whose header names no media source (RFC
 * 5104: its entries do); every other RTCP packet. Per connection, since
 * werift's router keeps its routing (and its SSRC table, one object for
 * the connection's life) in instance fields; on a werift without that
 * shape it does nothing.
 */

/** RTCP packet type of payload-specific feedback (RFC 4585). */
const RTCP_PSFB = 206;
/** REMB's feedback message type: werift routes it by the SSRCs in its body. */
const REMB_FMT = 15;

interface Feedback {
  type?: number;
  feedback?: { count?: number; mediaSsrc?: number };
}
interface Router {
  ssrcTable?: Record<number, unknown>;
  routeRtcp?: (packet: unknown) => void;
}

/** The sender `packet` is feedback for, when it is payload-specific feedback (not REMB) whose header names one of the connection's senders. */
export function feedbackTarget(packet: unknown, ssrcTable: Record<number, unknown>): RTCRtpSender | undefined {
  const p = packet as Feedback;
  if (p.type !== RTCP_PSFB || p.feedback?.count === REMB_FMT || p.feedback?.mediaSsrc === undefined) return undefined;
  const target = ssrcTable[p.feedback.mediaSsrc];
  return target instanceof RTCRtpSender ? target : undefined;
}

/** Makes `pc` hand a PLI to the sender it is about; true when applied. */
export function routeFeedbackByMedia(pc: RTCPeerConnection): boolean {
  const router = (pc as unknown as { router?: Router }).router;
  const route = router?.routeRtcp;
  const table = router?.ssrcTable;
  if (!router || typeof route !== "function" || !table) return false;
  router.routeRtcp = (packet: unknown) => {
    const sender = feedbackTarget(packet, table);
    if (sender) sender.handleRtcpPacket(packet as Parameters<RTCRtpSender["handleRtcpPacket"]>[0]);
    else route(packet);
  };
  return true;
}
