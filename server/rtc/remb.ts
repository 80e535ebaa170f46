import { ReceiverEstimatedMaxBitrate, RtcpPayloadSpecificFeedback } from "werift";

/**
 * An RTCP REMB (draft-alvestrand-rmcat-remb) telling a sender it may send up
 * to `bitrate` bits/s on `ssrcs`: a bitrate as an 18-bit mantissa and a
 * 6-bit exponent.
 */
export function rembPacket(senderSsrc: number, ssrcs: readonly number[], bitrate: number): RtcpPayloadSpecificFeedback {
  let mantissa = Math.max(0, Math.floor(bitrate));
  let exp = 0;
  while (mantissa >= 1 << 18) {
    mantissa = Math.floor(mantissa / 2);
    exp++;
  }
  return new RtcpPayloadSpecificFeedback({
    feedback: new ReceiverEstimatedMaxBitrate({
      senderSsrc,
      mediaSsrc: 0,
      ssrcNum: ssrcs.length,
      brExp: exp,
      brMantissa: mantissa,
      bitrate: BigInt(mantissa) * 2n ** BigInt(exp),
      ssrcFeedbacks: [...ssrcs],
    }),
  });
}
