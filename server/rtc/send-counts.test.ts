import assert from "node:assert/strict";
import { test } from "node:test";
import { SendCounts } from "./send-counts.js";
import type { IcePair, SenderInternals } from "./sender-internals.js";

const sender = (packetCount = 0) => ({ packetCount, octetCount: 0, headerBytesSent: 0 }) as unknown as SenderInternals;
const transport = () => ({ packetsSent: 0, bytesSent: 0 }) as unknown as SenderInternals["dtlsTransport"];
const pair = () => ({ packetsSent: 0, bytesSent: 0 }) as unknown as IcePair;

test("counts kept between ticks go into werift's sender, transport and pair once, then start from zero", () => {
  const counts = new SendCounts();
  const s = sender();
  const dtls = transport();
  const p = pair();
  counts.packet(1000, 24, false);
  counts.datagram(1040, true);
  counts.packet(255, 24, true);
  counts.datagram(295, false);
  counts.flushInto(s, dtls, p);
  assert.deepEqual({ ...s }, { packetCount: 2, octetCount: 1000, headerBytesSent: 48 }, "a padding-only packet counts as a packet, not in the octets");
  assert.deepEqual({ ...dtls }, { packetsSent: 2, bytesSent: 1335 });
  assert.deepEqual({ ...p }, { packetsSent: 1, bytesSent: 1040 }, "only what went to the pair's socket");
  counts.flushInto(s, dtls, p);
  assert.equal(s.packetCount, 2, "nothing added twice");
  counts.packet(10, 12, false);
  counts.datagram(38, true);
  counts.flushInto(s, undefined, undefined);
  assert.deepEqual([s.packetCount, s.octetCount, dtls.packetsSent, p.packetsSent], [3, 1010, 2, 1]);
});

test("the sender's packet count wraps as RTCP's 32 bits do", () => {
  const counts = new SendCounts();
  const s = sender(0xffffffff);
  counts.packet(100, 12, false);
  counts.packet(100, 12, false);
  counts.flushInto(s, undefined, undefined);
  assert.equal(s.packetCount, 1);
});
