import assert from "node:assert/strict";
import { test } from "node:test";
import { ReceiverEstimatedMaxBitrate } from "werift";
import { rembPacket } from "./remb.js";

test("a REMB carries the bitrate as mantissa and exponent, and the SSRCs it is about, as werift reads it back", () => {
  for (const bitrate of [0, 150_000, 262_143, 262_144, 6_000_000, 123_456_789]) {
    const packet = rembPacket(0x1234, [11, 22, 33], bitrate);
    const remb = packet.feedback as ReceiverEstimatedMaxBitrate;
    const back = ReceiverEstimatedMaxBitrate.deSerialize(remb.serialize());
    assert.equal(back.uniqueID, "REMB");
    assert.equal(back.senderSsrc, 0x1234);
    assert.deepEqual(back.ssrcFeedbacks, [11, 22, 33]);
    const value = Number(back.bitrate);
    assert.ok(value <= bitrate && value >= bitrate * (1 - 2 ** -17), `${bitrate} → ${value}`);
  }
});
