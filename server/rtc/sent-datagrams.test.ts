import assert from "node:assert/strict";
import { test } from "node:test";
import { HISTORY, SentDatagrams, SLOT_LARGE } from "./sent-datagrams.js";

test("SentDatagrams: a datagram written into its slot is what get() returns, until HISTORY later ones take the slot", () => {
  const d = new SentDatagrams();
  const out = d.buffer(7, 1000, true);
  assert.equal(d.slotBytes, SLOT_LARGE, "slots sized for a video packet");
  out.fill(0xab);
  d.written(7, out);
  assert.equal(d.get(7), out);
  assert.equal(d.get(7 + HISTORY), undefined, "another number on the same slot is not taken for it");
  const next = d.buffer(7 + HISTORY, 900, true);
  assert.equal(next.buffer, out.buffer, "the same memory: no allocation per packet");
  d.written(7 + HISTORY, next);
  assert.equal(d.get(7), undefined, "gone once its slot is written again");
});

test("SentDatagrams: a datagram written while others wait, or too large for a slot, has its own buffer", () => {
  const d = new SentDatagrams();
  const first = d.buffer(1, 1200, true);
  const queued = d.buffer(2, 1200, false);
  assert.notEqual(queued.buffer, first.buffer);
  const large = d.buffer(3, SLOT_LARGE + 1, true);
  assert.equal(large.length, SLOT_LARGE + 1);
  assert.notEqual(large.buffer, first.buffer);
  d.written(3, large);
  assert.equal(d.get(3), large);
});

test("SentDatagrams: what the native route left in a slot reads back at its size; an audio slab has small slots", () => {
  const d = new SentDatagrams();
  const slab = d.slabFor(0);
  assert.ok(d.slotBytes < SLOT_LARGE && d.slotBytes >= 200, `small slots for audio: ${d.slotBytes}`);
  slab.fill(5, 4 * d.slotBytes, 4 * d.slotBytes + 100);
  d.writtenInSlot(4, 100);
  const kept = d.get(4);
  assert.equal(kept?.length, 100);
  assert.ok(kept?.every((b) => b === 5));
  assert.equal(d.get(5), undefined, "nothing sent under 5");
});
