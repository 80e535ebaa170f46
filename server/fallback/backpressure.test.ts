import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { nextFrameId } from "../protocol/fallback.js";
import { FlowControl, MAX_TRACKED_FRAMES } from "./backpressure.js";

/** A clock the test moves by hand, and a flow control on it. */
function setup(options: ConstructorParameters<typeof FlowControl>[1] = {}) {
  let now = 0;
  const fc = new FlowControl({ now: () => now }, options);
  return { fc, advance: (ms: number) => (now += ms) };
}

describe("FlowControl", () => {
  test("an ack covers its frame and every earlier one, and measures the round trip", () => {
    const { fc, advance } = setup();
    for (let id = 0; id < 5; id++) {
      fc.sent(id, 1000);
      advance(10);
    }
    assert.equal(fc.outstandingFrames, 5);
    assert.equal(fc.ack(2), 3);
    assert.equal(fc.rttMs, 30);
    assert.equal(fc.outstandingFrames, 2);
    assert.equal(fc.ack(1), 0, "stale ack");
    assert.equal(fc.ack(9), 0, "ack of a frame never sent");
    assert.equal(fc.ack(4), 2);
    // SRTT: 30 + (10 - 30) / 8
    assert.equal(fc.rttMs, 27.5);
  });

  test("acks work across the u16 wrap", () => {
    const { fc, advance } = setup();
    let id = 65533;
    const ids: number[] = [];
    for (let i = 0; i < 6; i++) {
      fc.sent(id, 10);
      ids.push(id);
      id = nextFrameId(id);
      advance(5);
    }
    assert.deepEqual(ids, [65533, 65534, 65535, 0, 1, 2]);
    assert.equal(fc.ack(65534), 2);
    assert.equal(fc.ack(0), 2);
    assert.equal(fc.ack(65535), 0);
    assert.equal(fc.ack(2), 2);
    assert.equal(fc.outstandingFrames, 0);
  });

  test("stripes of one frame add up to one entry", () => {
    const { fc } = setup({ maxOutstandingBytes: 3000 });
    fc.sent(7, 1000);
    fc.sent(7, 1000);
    assert.equal(fc.outstandingFrames, 1);
    assert.equal(fc.canSend(), true);
    fc.sent(7, 1000);
    assert.equal(fc.canSend(), false);
    assert.equal(fc.takePause(), "limit");
  });

  test("pauses once the backlog exceeds 2 s at the viewer's measured rate, and reports it once", () => {
    const { fc, advance } = setup();
    let id = 0;
    // The viewer keeps up at 10 fps for 2 s: each frame acked 50 ms after it is sent.
    for (let i = 0; i < 20; i++) {
      fc.sent(id, 100);
      advance(50);
      fc.ack(id);
      id = nextFrameId(id);
      advance(50);
    }
    assert.ok(Math.abs(fc.deliveredFps! - 20) < 0.01, `${fc.deliveredFps}`);
    assert.equal(fc.rttMs, 50);
    // The viewer stops drawing; 40 frames at 20 fps is 2 s, so 41 are too many.
    for (let i = 0; i < 41; i++) {
      assert.equal(fc.canSend(), true, `frame ${i}`);
      fc.sent(id, 100);
      id = nextFrameId(id);
      advance(20);
    }
    assert.equal(fc.canSend(), false);
    assert.equal(fc.takePause(), "backlog");
    assert.equal(fc.takePause(), undefined);
    assert.equal(fc.canSend(), false);
    assert.equal(fc.takePause(), undefined, "a pause is reported once");
    assert.equal(fc.pauses, 1);
    assert.equal(fc.takeRefresh(), false);
    // The viewer catches up: sending resumes and asks for a refresh, once.
    fc.ack((id - 1) & 0xffff);
    assert.equal(fc.canSend(), true);
    assert.equal(fc.takeRefresh(), true);
    assert.equal(fc.takeRefresh(), false);
  });

  test("a still picture (few frames sent) does not read as a slow viewer", () => {
    const { fc, advance } = setup();
    let id = 0;
    // One frame a second for 30 s, each acked after 40 ms.
    for (let i = 0; i < 30; i++) {
      fc.sent(id, 100);
      advance(40);
      fc.ack(id);
      id = nextFrameId(id);
      advance(960);
    }
    assert.ok(fc.deliveredFps! >= 24, `${fc.deliveredFps}`);
    // Motion starts: 30 fps with 4 frames in flight is far from 2 s of backlog.
    for (let i = 0; i < 4; i++) {
      fc.sent(id, 100);
      id = nextFrameId(id);
      advance(33);
    }
    assert.equal(fc.canSend(), true);
  });

  test("pauses after 4 s without an ack while frames are outstanding, resumes on the next ack", () => {
    const { fc, advance } = setup();
    fc.sent(0, 100);
    advance(10);
    fc.ack(0);
    advance(10_000);
    assert.equal(fc.canSend(), true, "nothing outstanding: silence is fine");
    fc.sent(1, 100);
    advance(3999);
    assert.equal(fc.canSend(), true);
    fc.sent(2, 100);
    advance(1);
    assert.equal(fc.canSend(), false);
    assert.equal(fc.takePause(), "silence");
    advance(500);
    fc.ack(1);
    assert.equal(fc.canSend(), true, "an ack ends the silence");
    assert.equal(fc.takeRefresh(), true);
  });

  test("pauses at the hard frame cap before any rate is known", () => {
    const { fc } = setup({ maxOutstandingFrames: 10 });
    for (let id = 0; id < 9; id++) fc.sent(id, 1);
    assert.equal(fc.canSend(), true);
    fc.sent(9, 1);
    assert.equal(fc.canSend(), false);
    assert.equal(fc.takePause(), "limit");
    fc.ack(0);
    assert.equal(fc.canSend(), true);
  });

  test("never remembers more than MAX_TRACKED_FRAMES frames", () => {
    const { fc } = setup();
    for (let i = 0; i < 3 * MAX_TRACKED_FRAMES; i++) fc.sent(i & 0xffff, 10);
    assert.equal(fc.outstandingFrames, MAX_TRACKED_FRAMES);
    assert.equal(fc.ack((3 * MAX_TRACKED_FRAMES - 1) & 0xffff), MAX_TRACKED_FRAMES);
    assert.equal(fc.outstandingFrames, 0);
    assert.equal(fc.canSend(), true);
  });
});
