import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { ALL_TEMPORAL, DownTrack, PADDING_BYTES, PROBE_REPORT_EVERY_MS, type DownSink } from "./down-track.js";
import { FS, VP8, following, frame, threeLayers } from "./layer-fixtures.js";
import { CLIMB_SETTLE_MS, PROBE_FULL_MS, PROBE_HOLD_MAX_MS, PROBE_HOLD_MS, PROBE_QUEUE_MS, PROBE_RAMP_MS, PROBE_REPORT_MS } from "./layer-tuning.js";
import { nullObserver, type RelayObserver } from "./observer.js";
import { seqDiff } from "./rtp.js";
import { UpTrack } from "./up-track.js";

type Out = { seq: number; ts: number; marker: boolean; padding: boolean; at: number };

/** A sink that records media and padding in the order they go out, and when sender reports were asked for; `clock` stamps them. */
function recording(clock: { now: number }): { sink: DownSink; out: Out[]; reports: number[] } {
  const out: Out[] = [];
  const reports: number[] = [];
  return {
    out,
    reports,
    sink: {
      send: (p, seq, ts) => out.push({ seq, ts, marker: p.marker, padding: false, at: clock.now }),
      sendPadding: (seq, ts) => out.push({ seq, ts, marker: false, padding: true, at: clock.now }) > 0,
      senderReport: () => reports.push(clock.now) > 0,
    },
  };
}

/** A VP8 packet that continues a frame (no start bit). */
const rest = (pid: number): Buffer => Buffer.concat([Buffer.from([0x80, 0xe0, 0x80 | (pid >> 8), pid & 0xff, 0, 0]), Buffer.alloc(300)]);

describe("padding probes", () => {
  test("padding goes out only between frames, ramps to the rate asked, keeps the viewer's numbers contiguous and stops when told", () => {
    const clock = { now: 0 };
    const { sink, out, reports } = recording(clock);
    const up = new UpTrack({ id: "v", codec: VP8, requestKeyframe: () => {} });
    const down = new DownTrack(VP8, sink);
    assert.ok(down.canProbe);
    down.setSource(up);
    let seq = 65000; // wraps on the way
    let pid = 0;
    /** 30 frames/s of three packets each (about 220 kb/s) from `from` to `to`, ms. */
    const frames = (from: number, to: number) => {
      for (let t = from; t < to; t += 1000 / 30, pid++) {
        clock.now = t;
        up.push(seq++ & 0xffff, pid * 3000, false, frame(pid, 0, 300, pid === 0 ? FS : undefined), t);
        up.push(seq++ & 0xffff, pid * 3000, false, rest(pid), t);
        up.push(seq++ & 0xffff, pid * 3000, true, rest(pid), t);
      }
    };
    frames(0, 1000);
    assert.equal(down.stats.paddingOut, 0, "no probe, no padding");
    assert.equal(down.probedAt(1000), -Infinity, "never probed");
    down.probe(800_000, 1000, 1000);
    frames(1000, 3000);
    assert.equal(down.probedAt(2999), 2999, "probing now");
    down.stopProbe(3000);
    assert.equal(down.probedAt(3500), 3000, "when it stopped");
    down.stopProbe(3400);
    assert.equal(down.probedAt(3500), 3000, "stopping again without a probe moves nothing");
    const stoppedAt = out.length;
    frames(3000, 4000);

    for (let i = 1; i < out.length; i++) assert.equal(seqDiff(out[i].seq, out[i - 1].seq), 1, `contiguous at ${i}`);
    const pads = out.filter((o) => o.padding);
    assert.equal(pads.length, down.stats.paddingOut);
    for (let i = 0; i < out.length; i++) {
      if (!out[i].padding) continue;
      const before = out[i - 1];
      assert.ok(before.padding || before.marker, "padding only after a frame's last packet");
      let media = i - 1;
      while (out[media].padding) media--;
      assert.equal(out[i].ts, out[media].ts, "stamped with the last frame's timestamp");
    }
    const bits = (from: number, to: number) => pads.filter((p) => p.at >= from && p.at < to).length * PADDING_BYTES * 8;
    assert.ok(bits(1000, 1250) < 0.3 * 800_000 * 0.25, `ramping up: ${bits(1000, 1250)} bits in the first 250 ms`);
    const full = bits(2000, 3000);
    assert.ok(full > 0.8 * 800_000 && full < 1.2 * 800_000, `at the rate asked once ramped: ${full} bit/s`);
    assert.equal(out.slice(stoppedAt).filter((o) => o.padding).length, 0, "none after stopProbe");
    // A sender report every PROBE_REPORT_EVERY_MS while the probe pads, for round trips that show a queue early; none before or after.
    assert.ok(reports.length > 0 && reports.every((at) => at >= 1000 && at < 3000), `${reports}`);
    const gaps = reports.slice(1).map((at, i) => at - reports[i]);
    assert.ok(
      gaps.every((g) => g >= PROBE_REPORT_EVERY_MS && g < PROBE_REPORT_EVERY_MS + 50),
      `${gaps}`,
    );
    assert.ok(reports.length >= 2000 / (PROBE_REPORT_EVERY_MS + 50) - 1, `${reports.length} reports`);
    up.close();
  });

  test("only a VP8 or VP9 track whose sink pads can probe, and a held track sends no padding", () => {
    const clock = { now: 0 };
    const h264 = new DownTrack({ kind: "video", mimeType: "video/h264", clockRate: 90000 }, recording(clock).sink);
    assert.equal(h264.canProbe, false, "a browser finds H.264 frames by contiguous numbers: a lost padding packet would stall them");
    assert.equal(new DownTrack(VP8, { send: () => {} }).canProbe, false, "a sink without padding");
    const { sink, out } = recording(clock);
    const up = new UpTrack({ id: "v", codec: VP8, requestKeyframe: () => {} });
    const down = new DownTrack(VP8, sink);
    down.setSource(up);
    down.hold();
    down.probe(1_000_000, 1, 0);
    for (let pid = 0; pid < 10; pid++) up.push(pid + 1, pid * 3000, true, frame(pid, 0, 300, pid === 0 ? FS : undefined), pid * 33);
    assert.equal(out.length, 0);
    assert.equal(down.stats.paddingOut, 0);
    up.close();
  });
});

/**
 * The viewer joins on the top layer behind a link its first estimate shows
 * is thin: it is moved down at once, a congestion, after which climbs are
 * probed; the hold after it is over at T.
 */
const T = 2000 + PROBE_HOLD_MS + 500;
function joinThin(until: (ms: number) => void, follower: { check(now: number): void }): void {
  until(2000);
  follower.check(2000);
  until(T);
}

describe("LayerFollower probes before it climbs", () => {
  const probes = (outcomes: string[]): RelayObserver => ({ ...nullObserver, bandwidthProbe: (o) => outcomes.push(o) });

  test("a climb the estimate does not carry waits for a probe; with no fall and no loss meanwhile, it goes straight to the layer the viewer's size asks for", () => {
    const layers = threeLayers();
    const clock = { now: 0 };
    const { sink, out } = recording(clock);
    const outcomes: string[] = [];
    // A steady estimate above the 150 kb/s layer but below the 500 kb/s one.
    const told: boolean[] = [];
    const { down, follower } = following(
      layers.f,
      () => ({ renderWidth: 1280, bandwidth: 300_000 }),
      sink,
      probes(outcomes),
      (r) => told.push(r.probing === true),
    );
    const on = () => down.pendingTrack ?? down.upTrack;
    try {
      joinThin(layers.until, follower);
      follower.check(T);
      assert.equal(on(), layers.q, "no climb yet: a probe first");
      layers.until(T + 1000);
      follower.check(T + 1000);
      assert.equal(on(), layers.q, "still probing");
      assert.ok(down.stats.paddingOut > 0, "padding is going out");
      const end = T + PROBE_RAMP_MS + PROBE_FULL_MS;
      layers.until(end);
      follower.check(end);
      assert.equal(on(), layers.q, "the padding stops; the verdict waits for the next receiver report");
      layers.until(end + 300);
      follower.feedback("report", end + 300);
      assert.equal(on(), layers.f, "room: up to the 1280 px layer at once");
      assert.deepEqual(outcomes, ["room"]);
      const first = told.indexOf(true);
      assert.ok(first >= 0 && told.lastIndexOf(false) > first, `the viewer is told when the probe starts and when it ends: ${told.join(", ")}`);
      // The padding was what the climb adds (1.85 Mb/s) and half as much again once ramped (timestamps: the frames' clock, 90 kHz from 0).
      const padded = out.filter((o) => o.padding && o.ts / 90 >= T + PROBE_RAMP_MS).length * PADDING_BYTES * 8;
      const rate = padded / (PROBE_FULL_MS / 1000);
      assert.ok(rate > 2_400_000 && rate < 3_200_000, `padding at ${Math.round(rate)} bit/s at full`);
      const sent = down.stats.paddingOut;
      layers.until(end + 2000);
      assert.equal(down.stats.paddingOut, sent, "no padding after the probe");
    } finally {
      follower.close();
      layers.close();
    }
  });

  test("a probe whose estimate falls even a little ends at once without a climb; the next, only after a hold, probes one layer up", () => {
    const layers = threeLayers();
    const clock = { now: 0 };
    const { sink } = recording(clock);
    const outcomes: string[] = [];
    let bandwidth = 300_000;
    const { down, follower } = following(layers.f, () => ({ renderWidth: 1280, bandwidth }), sink, probes(outcomes));
    const on = () => down.pendingTrack ?? down.upTrack;
    try {
      joinThin(layers.until, follower);
      follower.check(T);
      layers.until(T + 800);
      // The padding filled the link's queue: the viewer's estimate is cut a little (not by a tenth: no fall from its peak by that measure).
      bandwidth = 280_000;
      follower.feedback("estimate", T + 800);
      assert.deepEqual(outcomes, ["congested"], "ended when the estimate fell, not at the probe's end");
      const sent = down.stats.paddingOut;
      assert.ok(sent > 0);
      // Padding seen in the frames after a check: a probe started at that check.
      let probedAt: number | undefined;
      let padded = sent;
      for (let t = T + 1000; t <= T + 800 + PROBE_HOLD_MAX_MS + 5000; t += 500) {
        layers.until(t);
        if (probedAt === undefined && down.stats.paddingOut > padded) probedAt = t - 500;
        padded = down.stats.paddingOut;
        follower.check(t);
      }
      assert.equal(on(), layers.h, "a later probe found room for one layer up (the estimate steady at 280 kb/s, nothing lost)");
      assert.ok(probedAt !== undefined, "probed again");
      const gap = probedAt - (T + 800);
      assert.ok(gap >= PROBE_HOLD_MS && gap <= PROBE_HOLD_MAX_MS + 1000, `the next probe ${gap} ms after the one that congested`);
      assert.deepEqual(outcomes, ["congested", "room"]);
    } finally {
      follower.close();
      layers.close();
    }
  });

  test("an estimate that rose with the padding and is then cut, though still above where it started, ends the probe", () => {
    const layers = threeLayers();
    const clock = { now: 0 };
    const outcomes: string[] = [];
    let bandwidth = 300_000;
    const { down, follower } = following(layers.f, () => ({ renderWidth: 1280, bandwidth }), recording(clock).sink, probes(outcomes));
    try {
      joinThin(layers.until, follower);
      follower.check(T);
      layers.until(T + 400);
      bandwidth = 600_000; // the link carries the padding so far: the estimate rises with it
      follower.feedback("estimate", T + 400);
      layers.until(T + 800);
      bandwidth = 550_000; // overuse: cut to about what arrives, not a tenth below the peak
      follower.feedback("estimate", T + 800);
      assert.deepEqual(outcomes, ["congested"]);
      assert.equal(down.pendingTrack ?? down.upTrack, layers.q, "no climb");
    } finally {
      follower.close();
      layers.close();
    }
  });

  test("the loss in the first receiver report after the padding stops decides; without one, the probe ends PROBE_REPORT_MS later", () => {
    for (const lossAfter of [0.2, undefined]) {
      const layers = threeLayers();
      const outcomes: string[] = [];
      let loss = 0;
      // On the 640 px layer (500 kb/s), probing for the 1280 px one.
      const { down, follower } = following(layers.f, () => ({ renderWidth: 1280, bandwidth: 600_000, loss }), recording({ now: 0 }).sink, probes(outcomes));
      try {
        joinThin(layers.until, follower);
        follower.check(T);
        const end = T + PROBE_RAMP_MS + PROBE_FULL_MS;
        layers.until(end);
        follower.check(end);
        if (lossAfter !== undefined) {
          loss = lossAfter; // the report covers the probe at full rate: the link dropped padding
          follower.feedback("report", end + 400);
          assert.deepEqual(outcomes, ["congested"]);
          assert.equal(down.pendingTrack ?? down.upTrack, layers.h, "no climb, and no move down for the padding the link dropped");
        } else {
          layers.until(end + PROBE_REPORT_MS - 1);
          follower.check(end + PROBE_REPORT_MS - 1);
          assert.deepEqual(outcomes, [], "still waiting for a report");
          layers.until(end + PROBE_REPORT_MS);
          follower.check(end + PROBE_REPORT_MS);
          assert.deepEqual(outcomes, ["room"]);
          assert.equal(down.pendingTrack ?? down.upTrack, layers.f);
        }
      } finally {
        follower.close();
        layers.close();
      }
    }
  });

  test("a round trip that grows past the link's own jitter while the probe pads ends it, though the estimate holds and nothing is lost", () => {
    // Round trips before the probe spread 20–130 ms (a jittery link); then one taken during the probe.
    for (const [during, outcome] of [
      [130 + PROBE_QUEUE_MS - 10, "room"],
      [130 + PROBE_QUEUE_MS + 100, "congested"],
    ] as const) {
      const layers = threeLayers();
      const outcomes: string[] = [];
      const { down, follower } = following(layers.f, () => ({ renderWidth: 1280, bandwidth: 300_000, loss: 0 }), recording({ now: 0 }).sink, probes(outcomes));
      try {
        layers.until(2000);
        follower.check(2000);
        // A round trip longer than the window (a bogus answer) is dropped, harmlessly.
        follower.feedback("report", 2400, 60_000);
        [20, 130, 60, 90, 45].forEach((ms, i) => follower.feedback("report", 2500 + i * 1000, ms));
        layers.until(T);
        follower.check(T);
        // A long round trip from a sender report sent before the probe does not count.
        follower.feedback("report", T + 100, 250);
        layers.until(T + 1200);
        assert.ok(down.stats.paddingOut > 0, "probing");
        follower.feedback("report", T + 1200, during);
        const end = T + PROBE_RAMP_MS + PROBE_FULL_MS;
        if (outcome === "congested") {
          assert.deepEqual(outcomes, ["congested"], `a round trip of ${during} ms`);
          assert.equal(down.pendingTrack ?? down.upTrack, layers.q, "no climb");
        } else {
          assert.deepEqual(outcomes, [], `a round trip of ${during} ms is within the link's jitter`);
          layers.until(end + 300);
          follower.feedback("report", end + 300);
          assert.deepEqual(outcomes, ["room"]);
          assert.equal(down.pendingTrack ?? down.upTrack, layers.f);
        }
      } finally {
        follower.close();
        layers.close();
      }
    }
  });

  test("a climb that congests soon after doubles the hold from a probing track's own (PROBE_HOLD_MS), not a blind climb's", () => {
    const layers = threeLayers();
    const outcomes: string[] = [];
    let bandwidth = 300_000;
    const { down, follower } = following(layers.q, () => ({ renderWidth: 1280, bandwidth }), recording({ now: 0 }).sink, probes(outcomes));
    try {
      layers.until(2000);
      follower.check(2000);
      assert.equal(down.pendingTrack ?? down.upTrack, layers.h, "up one layer at once: a climb the estimate does not carry, tried");
      layers.until(4000);
      bandwidth = 200_000;
      follower.check(4000);
      assert.equal(down.pendingTrack, layers.q, "moved down: the climb did not fit");
      let probedAt: number | undefined;
      for (let t = 4500; t <= 30_000 && probedAt === undefined; t += 500) {
        layers.until(t);
        if (down.stats.paddingOut > 0) probedAt = t - 500;
        follower.check(t);
      }
      assert.ok(probedAt !== undefined, "probed again");
      const gap = probedAt - 4000;
      assert.ok(gap >= 2 * PROBE_HOLD_MS && gap <= 2 * PROBE_HOLD_MS + 1000, `the first probe ${gap} ms after the climb congested (the hold doubled once)`);
    } finally {
      follower.close();
      layers.close();
    }
  });

  /**
   * A viewer of three layers behind a thin link at the join (as in
   * joinThin), then an estimate below even the lowest layer's rate: on the
   * lowest layer with fewer temporal layers, and a hold. It reports
   * `viewer.bandwidth` from then on (300 kb/s to begin with).
   */
  function belowLowest(outcomes: string[]) {
    const layers = threeLayers();
    const viewer = { bandwidth: 300_000 };
    const { down, follower } = following(layers.f, () => ({ renderWidth: 1280, bandwidth: viewer.bandwidth }), recording({ now: 0 }).sink, probes(outcomes));
    try {
      layers.until(2000);
      follower.check(2000);
      layers.until(3500);
      follower.check(3500);
      layers.until(4000);
      viewer.bandwidth = 100_000;
      follower.check(4000);
      assert.equal(down.upTrack, layers.q);
      assert.ok(down.temporal < ALL_TEMPORAL, "fewer temporal layers");
      viewer.bandwidth = 300_000;
      return { layers, down, follower, viewer };
    } catch (err) {
      follower.close();
      layers.close();
      throw err;
    }
  }

  test("a temporal layer dropped as a probe ends without room keeps the probe's hold, though a temporal climb came with the probe", () => {
    const outcomes: string[] = [];
    const { layers, down, follower, viewer } = belowLowest(outcomes);
    try {
      // Each probe's start (the check before its padding shows), and the temporal layers before that check.
      const starts: { at: number; temporal: number }[] = [];
      let last = { at: 4000, temporal: down.temporal };
      let padded = 0;
      for (let t = 4500; t <= 45_000 && starts.length < 2; t += 500) {
        layers.until(t);
        if (down.stats.paddingOut > padded && starts.length === outcomes.length) starts.push(last);
        padded = down.stats.paddingOut;
        if (starts.length === 1 && outcomes.length === 0 && t >= starts[0].at + 1000) {
          // The padding filled the link: the estimate falls below the lowest layer's rate again, and the probe ends.
          viewer.bandwidth = 100_000;
          follower.feedback("estimate", t);
          assert.deepEqual(outcomes, ["congested"]);
          assert.ok(down.temporal < ALL_TEMPORAL, "a temporal layer dropped with the probe's end");
          viewer.bandwidth = 300_000;
        }
        last = { at: t, temporal: down.temporal };
        follower.check(t);
      }
      assert.equal(starts.length, 2, `probed twice (${outcomes.join(", ")})`);
      assert.ok(starts[0].temporal < ALL_TEMPORAL, "the first probe started in the check that regained the last temporal layer");
      // The probe's hold (PROBE_HOLD_MAX_MS at most), then the temporal layers back one at a time (CLIMB_SETTLE_MS each) with the probe: not a failed climb's doubled hold.
      const gap = starts[1].at - (starts[0].at + 1000);
      assert.ok(gap <= PROBE_HOLD_MAX_MS + 2 * CLIMB_SETTLE_MS + 1000, `the next probe ${gap} ms after the one that found no room`);
    } finally {
      follower.close();
      layers.close();
    }
  });

  test("a temporal layer dropped seconds after a probe found no room (the estimate still falling from its padding) keeps the probe's hold too", () => {
    const outcomes: string[] = [];
    const { layers, down, follower, viewer } = belowLowest(outcomes);
    try {
      const starts: number[] = [];
      let padded = 0;
      let endedAt: number | undefined;
      for (let t = 4500; t <= 60_000 && starts.length < 2; t += 500) {
        layers.until(t);
        if (down.stats.paddingOut > padded && starts.length === outcomes.length) starts.push(t - 500);
        padded = down.stats.paddingOut;
        if (starts.length === 1 && outcomes.length === 0 && t >= starts[0] + 1000) {
          // The padding filled the link: the estimate falls, a little at first (the probe ends, the layers stay)...
          viewer.bandwidth = 260_000;
          follower.feedback("estimate", t);
          assert.deepEqual(outcomes, ["congested"]);
          assert.equal(down.temporal, ALL_TEMPORAL, "the layers stay at the probe's end");
          endedAt = t;
        }
        if (endedAt !== undefined && t === endedAt + 2500) {
          // ...and below the lowest layer's rate 2.5 s later, as a browser's estimate goes on falling while the queue drains.
          viewer.bandwidth = 100_000;
          follower.feedback("estimate", t);
          assert.ok(down.temporal < ALL_TEMPORAL, "a temporal layer dropped");
          viewer.bandwidth = 300_000;
        }
        follower.check(t);
      }
      assert.equal(starts.length, 2, `probed twice (${outcomes.join(", ")})`);
      // That drop's own hold (PROBE_HOLD_MS), then the temporal layers back with the probe: not a failed climb's doubled hold.
      const gap = starts[1] - (endedAt ?? 0);
      assert.ok(gap <= 2500 + PROBE_HOLD_MS + 2 * CLIMB_SETTLE_MS + 1000, `the next probe ${gap} ms after the one that found no room`);
    } finally {
      follower.close();
      layers.close();
    }
  });

  test("a climb with no congestion before it (a layer back after a restart, a larger player) is not probed", () => {
    const layers = threeLayers();
    const outcomes: string[] = [];
    const { down, follower } = following(layers.q, () => ({ renderWidth: 1280, bandwidth: 300_000 }), recording({ now: 0 }).sink, probes(outcomes));
    try {
      layers.until(2000);
      follower.check(2000);
      assert.equal(down.pendingTrack ?? down.upTrack, layers.h, "up one layer at once, as before probes");
      assert.equal(down.stats.paddingOut, 0);
      assert.deepEqual(outcomes, []);
    } finally {
      follower.close();
      layers.close();
    }
  });
});
