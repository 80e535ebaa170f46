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
 * connection has one. A REMB names the SSRCs it is about in its body, and
 * werift hands it to the first of them only. Chromium's REMBs name two, an
 * SSRC the server holds nothing under (its RTX stream's, by the look of
 * it) and the video's, and in one bench:network run every one of its 179
 * REMBs named the other first: none reached the video sender, whose layer
 * choice then went on loss alone (in another run they did). A REMB now
 * goes to every sender it names, each once. The rest stays with werift: a
 * FIR, whose header names no media source (RFC 5104: its entries do); a
 * REMB naming no sender; every other RTCP packet. Per connection, since
 * werift's router keeps its routing (and its SSRC table, one object for
 * the connection's life) in instance fields; on a werift without that
 * shape it does nothing.
 */

/** RTCP packet type of payload-specific feedback (RFC 4585). */
const RTCP_PSFB = 206;
/** REMB's feedback message type: it names its SSRCs in its body. */
const REMB_FMT = 15;

interface Feedback {
  type?: number;
  feedback?: { count?: number; mediaSsrc?: number; ssrcFeedbacks?: readonly number[] };
}
interface Router {
  ssrcTable?: Record<number, unknown>;
  routeRtcp?: (packet: unknown) => void;
}

/**
 * The senders `packet` is feedback for: payload-specific feedback whose
 * header names one of the connection's senders, or a REMB naming senders in
 * its body (each once); none when it is left to werift.
 */
export function feedbackTargets(packet: unknown, ssrcTable: Record<number, unknown>): RTCRtpSender[] {
  const p = packet as Feedback;
  if (p.type !== RTCP_PSFB || p.feedback === undefined) return [];
  const ssrcs = p.feedback.count === REMB_FMT ? (p.feedback.ssrcFeedbacks ?? []) : p.feedback.mediaSsrc !== undefined ? [p.feedback.mediaSsrc] : [];
  const senders: RTCRtpSender[] = [];
  for (const ssrc of ssrcs) {
    const target = ssrcTable[ssrc];
    if (target instanceof RTCRtpSender && !senders.includes(target)) senders.push(target);
  }
  return senders;
}

/** Makes `pc` hand a PLI to the sender it is about, and a REMB to every sender it names; true when applied. */
export function routeFeedbackByMedia(pc: RTCPeerConnection): boolean {
  const router = (pc as unknown as { router?: Router }).router;
  const route = router?.routeRtcp;
  const table = router?.ssrcTable;
  if (!router || typeof route !== "function" || !table) return false;
  router.routeRtcp = (packet: unknown) => {
    const senders = feedbackTargets(packet, table);
    if (senders.length === 0) route(packet);
    for (const sender of senders) sender.handleRtcpPacket(packet as Parameters<RTCRtpSender["handleRtcpPacket"]>[0]);
  };
  return true;
}
