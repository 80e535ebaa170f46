import assert from "node:assert/strict";
import { test } from "node:test";
import { PayloadRing, RECORD_WORDS, SentPackets } from "./sent-packets.js";

test("SentPackets keeps the last `size` packets with their header fields, each resent at most once per gap", () => {
  const sent = new SentPackets(8);
  for (let seq = 65530; seq < 65530 + 12; seq++)
    sent.remember(seq & 0xffff, Buffer.from([seq & 0xff]), seq % 2 === 0 ? 1 : 8, seq * 3000, seq & 0xffffff, seq >> 16);
  // 65530..65533 were pushed out by the 8 after them (the sequence wrapped on the way).
  assert.equal(sent.takeForResend(65533, 0, 100), -1);
  const i = sent.takeForResend(65534, 0, 100);
  assert.ok(i >= 0);
  assert.deepEqual(
    [sent.seq(i), sent.payload(i)?.[0], sent.bits(i), sent.timestamp(i), sent.abs(i), sent.roc(i)],
    [65534, 65534 & 0xff, 1, (65534 * 3000) >>> 0, 65534, 0],
  );
  const odd = sent.takeForResend(65535, 0, 100);
  assert.equal(sent.bits(odd), 8, "the bits as given");
  const j = sent.takeForResend(3, 0, 100);
  assert.deepEqual([sent.seq(j), sent.roc(j)], [3, 1]);
  assert.equal(sent.takeForResend(3, 99, 100), -1, "not again within the gap");
  assert.equal(sent.takeForResend(3, 100, 100), j, "again after it");
  assert.equal(sent.takeForResend(6, 0, 100), -1, "never sent (its slot holds 65534)");
  sent.remember(3, Buffer.from([7]), 0, 1, 2, 1);
  assert.equal(sent.takeForResend(3, 101, 100), j, "sent again under the same number: resendable at once");
});

test("SentPackets finds a fan-out's payloads in its ring; a newer ring under the same id makes the old one's records forgotten", () => {
  const sent = new SentPackets(8);
  const records = sent.records;
  const ring = new PayloadRing(3);
  sent.useRing(ring);
  /** A record as native/fanout.c writes it: sent as `out`, its payload in ring `id` under `incoming`. */
  const write = (out: number, incoming: number, id: number) => {
    const r = (out % 8) * RECORD_WORDS;
    records[r] = out;
    records[r + 4] = (1 | 0x100 | (id << 9) | (incoming << 16)) >>> 0;
    new Float64Array(records.buffer)[(out % 8) * (RECORD_WORDS / 2) + 3] = -Infinity;
  };
  const payload = Buffer.from([42]);
  ring.put(700, payload);
  write(5, 700, 3);
  const i = sent.takeForResend(5, 0, 10);
  assert.ok(i >= 0);
  assert.equal(sent.payload(i), payload);
  assert.equal(sent.bits(i), 1, "the header bits alone");
  write(6, 701, 3);
  assert.equal(sent.takeForResend(6, 0, 10), -1, "not in the ring: not resendable");
  const other = new PayloadRing(3);
  other.put(700, Buffer.from([7]));
  sent.useRing(other);
  assert.equal(sent.takeForResend(5, 100, 10), -1, "a record of the old ring is not read from the new one");
  sent.remember(5, Buffer.from([1]), 0, 0, 0, 0);
  assert.equal(sent.payload(sent.takeForResend(5, 100, 10))?.[0], 1, "remembered again: its own payload");
});
