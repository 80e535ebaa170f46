import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { fakeTimers } from "./fake-timers.js";
import { NACK_MAX_AGE_MS, NACK_MAX_MISSING, NACK_MAX_TRIES, NACK_RETRY_MS, NackGenerator } from "./nack-generator.js";
import { UpTrack } from "./up-track.js";

const VP8 = { kind: "video" as const, mimeType: "video/vp8", clockRate: 90000 };
/** A VP8 payload: a keyframe's first packet, or any other. */
const vp8 = (keyframe: boolean) => Buffer.from([0x10, keyframe ? 0x00 : 0x01, 0, 0, 0]);

describe("NackGenerator", () => {
  test("a gap is asked for at once, then every NACK_RETRY_MS until it arrives", () => {
    const g = new NackGenerator();
    g.received(100, false, 0);
    assert.equal(g.received(101, false, 1), false, "no gap");
    assert.equal(g.received(104, false, 2), true, "a gap");
    assert.deepEqual(g.due(2), [102, 103]);
    assert.deepEqual(g.due(2 + NACK_RETRY_MS - 1), [], "not again before the retry time");
    g.received(103, false, 10);
    assert.deepEqual(g.due(2 + NACK_RETRY_MS), [102], "what came is no longer asked for");
    g.received(102, false, 40);
    assert.equal(g.pending, 0);
    assert.equal(g.recovered, 2);
  });

  test("sequence numbers wrap at 65536", () => {
    const g = new NackGenerator();
    g.received(65534, false, 0);
    g.received(2, false, 1);
    assert.deepEqual(g.due(1), [65535, 0, 1]);
    g.received(0, false, 2);
    assert.deepEqual(g.due(100), [65535, 1]);
  });

  test("a packet is given up on after NACK_MAX_TRIES requests or NACK_MAX_AGE_MS", () => {
    const g = new NackGenerator();
    g.received(1, false, 0);
    g.received(3, false, 0);
    let asked = 0;
    for (let t = 0; t < 10 * NACK_MAX_AGE_MS; t += NACK_RETRY_MS) asked += g.due(t).length;
    assert.equal(asked, NACK_MAX_TRIES);
    assert.equal(g.pending, 0);
    assert.equal(g.abandoned, 1);

    const h = new NackGenerator();
    h.received(1, false, 0);
    h.received(3, false, 0);
    h.due(0);
    assert.deepEqual(h.due(NACK_MAX_AGE_MS + 1), [], "too old to be of use");
    assert.equal(h.pending, 0);
  });

  test("a keyframe ends the wait for the packets before it", () => {
    const g = new NackGenerator();
    g.received(10, false, 0);
    g.received(13, false, 0);
    g.received(16, true, 0);
    assert.deepEqual(g.due(0), []);
    g.received(19, false, 0);
    assert.deepEqual(g.due(0), [17, 18]);
  });

  test("old and duplicate packets open no gap; a jump larger than NACK_MAX_MISSING is a restart, not a loss", () => {
    const g = new NackGenerator();
    g.received(1000, false, 0);
    assert.equal(g.received(990, false, 0), false);
    assert.equal(g.received(1000, false, 0), false);
    assert.equal(g.received(1001 + NACK_MAX_MISSING + 1, false, 0), false);
    assert.equal(g.pending, 0);
    // Missing packets beyond NACK_MAX_MISSING: the oldest are dropped.
    const h = new NackGenerator();
    h.received(0, false, 0);
    h.received(NACK_MAX_MISSING / 2 + 1, false, 0);
    h.received(NACK_MAX_MISSING + 3, false, 0);
    assert.equal(h.pending, NACK_MAX_MISSING);
    assert.equal(h.due(0)[0], 2, "the oldest missing packet, 1, was given up on");
  });
});

describe("UpTrack repair", () => {
  test("NACKs each gap of its stream, retries on a timer while the source is quiet, and stops when the packet comes or the track closes", () => {
    const { timers, advance, pending } = fakeTimers();
    const sent: number[][] = [];
    const up = new UpTrack({ id: "u", codec: VP8, requestKeyframe: () => {}, nack: (lost) => sent.push(lost), timers });
    up.push(1, 0, false, vp8(true), timers.now());
    up.push(2, 0, false, vp8(false), timers.now());
    up.push(5, 0, false, vp8(false), timers.now());
    assert.deepEqual(sent, [[3, 4]]);
    advance(NACK_RETRY_MS);
    assert.deepEqual(sent.at(-1), [3, 4], "asked again with no packet arriving");
    up.push(3, 0, false, vp8(false), timers.now());
    up.push(4, 0, false, vp8(false), timers.now());
    advance(10 * NACK_RETRY_MS);
    assert.equal(sent.length, 2, "nothing more once both came");
    assert.equal(pending(), 0, "no timer left");

    up.push(8, 0, false, vp8(false), timers.now());
    assert.equal(sent.length, 3);
    up.close();
    assert.equal(pending(), 0, "closing stops the retries");
  });

  test("a track without a way to NACK watches no gaps", () => {
    const { timers, pending } = fakeTimers();
    const up = new UpTrack({ id: "u", codec: VP8, requestKeyframe: () => {}, timers });
    up.push(1, 0, false, vp8(true), timers.now());
    up.push(9, 0, false, vp8(false), timers.now());
    assert.equal(pending(), 0);
  });
});
