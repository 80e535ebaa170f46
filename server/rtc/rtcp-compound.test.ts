import assert from "node:assert/strict";
import { test } from "node:test";
import { GenericNack, RtcpPacketConverter, RtcpRrPacket, RtcpTransportLayerFeedback, RtcpReceiverInfo } from "werift";
import { rembPacket } from "./remb.js";
import { compoundParts, fixRtcpCompound } from "./rtcp-compound.js";

/** What Chromium sends a sender: a receiver report, a NACK, then a REMB, in one compound packet. */
function chromiumCompound(lost: number[]): Buffer {
  const rr = new RtcpRrPacket({
    ssrc: 1,
    reports: [new RtcpReceiverInfo({ ssrc: 0xabcdef, fractionLost: 3, packetsLost: 26, highestSequence: 31400, jitter: 9, lsr: 0, dlsr: 0 })],
  });
  const nack = new RtcpTransportLayerFeedback({ feedback: new GenericNack({ senderSsrc: 1, mediaSourceSsrc: 0xabcdef, lost }) });
  return Buffer.concat([rr.serialize(), nack.serialize(), rembPacket(1, [0xabcdef, 0x1234], 2_500_000).serialize()]);
}

test("compoundParts splits by each part's length and leaves out a part cut short", () => {
  const whole = chromiumCompound([31395, 31397]);
  const parts = compoundParts(whole);
  assert.equal(parts.length, 3);
  assert.equal(parts[0][0], 0);
  assert.equal(parts[2][1], whole.length);
  for (let i = 1; i < parts.length; i++) assert.equal(parts[i][0], parts[i - 1][1]);
  assert.deepEqual(compoundParts(whole.subarray(0, whole.length - 2)), parts.slice(0, 2));
  assert.deepEqual(compoundParts(Buffer.alloc(3)), []);
});

test("werift reads a NACK inside a compound packet as just its own sequence numbers, and the parts around it too", () => {
  fixRtcpCompound();
  fixRtcpCompound(); // twice is once
  const lost = [31395, 31397, 31400, 31460];
  const packets = RtcpPacketConverter.deSerialize(chromiumCompound(lost));
  assert.equal(packets.length, 3);
  const [rr, nack, remb] = packets as [RtcpRrPacket, RtcpTransportLayerFeedback, { feedback: { bitrate: bigint; ssrcFeedbacks: number[] } }];
  assert.equal(rr.reports[0].packetsLost, 26);
  assert.deepEqual((nack.feedback as GenericNack).lost, lost);
  assert.deepEqual(remb.feedback.ssrcFeedbacks, [0xabcdef, 0x1234]);
  assert.ok(Number(remb.feedback.bitrate) > 2_400_000);
  // A malformed tail (a length past the end) costs only itself.
  const cut = chromiumCompound(lost);
  cut.writeUInt16BE(0xffff, cut.length - rembPacket(1, [0xabcdef, 0x1234], 2_500_000).serialize().length + 2);
  assert.equal(RtcpPacketConverter.deSerialize(cut).length, 2);
});
