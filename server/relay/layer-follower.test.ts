import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { createLogger } from "../log.js";
import { ALL_TEMPORAL, type DownTrack } from "./down-track.js";
import { FS, QS, VP8, feed, following, threeLayers } from "./layer-fixtures.js";
import type { LayerFollower } from "./layer-follower.js";
import { CLIMB_SETTLE_MS, EARLY_CHECK_GAP_MS, JOIN_MS, QUEUE_DRAIN_MS } from "./layer-tuning.js";
import { LOSS_WINDOW_MS } from "./loss-meter.js";
import { UpTrack } from "./up-track.js";

type Move = { at: number; to: UpTrack };

/**
 * Feeds the layers (`until`) and has `follower` choose every 500 ms from
 * 1 s to `endMs`, calling `before(t, moves)` first each time; returns the
 * moves of `down`'s layer (the one switched to, pending or not), in order.
 */
function movesOver(
  endMs: number,
  until: (ms: number) => void,
  down: DownTrack,
  follower: LayerFollower,
  before: (t: number, moves: readonly Move[]) => void,
): Move[] {
  const moves: Move[] = [];
  let last = down.pendingTrack ?? down.upTrack;
  for (let t = 1000; t <= endMs; t += 500) {
    before(t, moves);
    until(t);
    follower.check(t);
    const now = down.pendingTrack ?? down.upTrack;
    if (now && now !== last) moves.push({ at: t, to: now });
    last = now;
  }
  return moves;
}

describe("LayerFollower and temporal layers", () => {
  test("when even the lowest layer does not fit a falling estimate, the viewer gets fewer temporal layers; calm, it climbs them back first", () => {
    const q = new UpTrack({ id: "q", codec: VP8, requestKeyframe: () => {} });
    const f = new UpTrack({ id: "f", codec: VP8, requestKeyframe: () => {} });
    q.setLayers([q, f]);
    f.setLayers([q, f]);
    const qs = { seq: 1, pid: 0 };
    const fs = { seq: 1, pid: 0 };
    feed(q, qs, 150_000, 0, 2000, QS);
    feed(f, fs, 2_000_000, 0, 2000, FS);
    let bandwidth: number | undefined = 200_000;
    const { down, follower } = following(q, () => ({ renderWidth: 300, bandwidth }));
    try {
      follower.check(2000);
      assert.equal(down.temporal, ALL_TEMPORAL, "the estimate fits: every frame");
      // The estimate falls below the lowest layer's rate: fewer frames, no spatial move (there is none lower).
      bandwidth = 90_000;
      feed(q, qs, 150_000, 2000, 1000, QS);
      feed(f, fs, 2_000_000, 2000, 1000, FS);
      follower.check(3000);
      assert.ok(down.temporal < 2, `fewer temporal layers (${down.temporal})`);
      assert.ok(q.temporalBitrate(down.temporal, 3000) <= 90_000 * 0.95 || down.temporal === 0, "the most that fit, or the base");
      assert.equal(down.upTrack, q);
      const low = down.temporal;
      // Calm (a steady estimate) for longer than the hold: the temporal layers come back one at a time, before any spatial climb.
      let t = 3000;
      const seen: number[] = [low];
      for (; t < 30_000; t += 1000) {
        feed(q, qs, 150_000, t, 1000, QS);
        feed(f, fs, 2_000_000, t, 1000, FS);
        follower.check(t + 1000);
        if (seen[seen.length - 1] !== down.temporal) seen.push(down.temporal);
      }
      assert.deepEqual(seen, low === 0 ? [0, 1, ALL_TEMPORAL] : [1, ALL_TEMPORAL], `one temporal layer at a time: ${seen.join(" → ")}`);
      assert.equal(down.temporal, ALL_TEMPORAL);
    } finally {
      follower.close();
      q.close();
      f.close();
    }
  });
});

describe("LayerFollower and the loss a viewer reports", () => {
  test("a link that loses much of what it carries moves the viewer down while its estimate stands still", () => {
    const { q, h, f, until, close } = threeLayers();
    let loss = 0;
    const { down, follower } = following(f, () => ({ renderWidth: 1280, bandwidth: 3_000_000, loss }));
    try {
      until(2000);
      follower.check(2000);
      assert.equal(down.pendingTrack ?? down.upTrack, f, "no loss: the top layer");
      loss = 0.05;
      until(3000);
      follower.check(3000);
      assert.equal(down.pendingTrack ?? down.upTrack, f, "some loss: no move down");
      // 30 % lost: 2 Mb/s less 15 % no longer fits (the estimate, 3 Mb/s, has not moved).
      loss = 0.3;
      until(4000);
      follower.check(4000);
      assert.equal(down.pendingTrack ?? down.upTrack, h, "much loss: down to the layer that fits what is left");
      assert.ok(q, "the smallest layer stays available");
    } finally {
      follower.close();
      close();
    }
  });

  test("each move and hold is traced at debug level with what decided it", () => {
    const { f, until, close } = threeLayers();
    let loss = 0;
    let bandwidth = 3_000_000;
    const lines: string[] = [];
    const log = createLogger("debug", "t", (line) => lines.push(line) > 0);
    const { follower } = following(f, () => ({ renderWidth: 1280, bandwidth, loss }), undefined, undefined, undefined, { log, viewer: "v1" });
    try {
      until(2000);
      follower.check(2000);
      assert.deepEqual(lines, [], "no move, no line");
      loss = 0.3;
      until(4000);
      follower.check(4000);
      assert.equal(lines.length, 2, lines.join("\n"));
      assert.match(lines[0], /hold viewer=v1 .*ms=10000 after=congestion/);
      assert.match(lines[1], /layer down viewer=v1 .*from=1280 to=640 why=loss .*lossPct=30/);
      // Calm again, after the hold, it climbs; then an estimate that falls far moves it down on the estimate.
      loss = 0;
      until(29_000);
      follower.check(29_000);
      assert.match(lines.at(-1) ?? "", /layer up .*from=640 to=1280 why=estimate sending=\d+ estimate=3000000/);
      bandwidth = 100_000;
      until(29_500);
      follower.check(29_500);
      assert.match(lines.at(-1) ?? "", /layer down .*from=1280 to=320 why=estimate sending=\d+ estimate=100000/);
    } finally {
      follower.close();
      close();
    }
  });

  test("soon after a viewer's first estimate, one far below what it is sent moves it down at once; one a little below, or a low one later, does not", () => {
    for (const [first, later, expected] of [
      [400_000, undefined, "q"], // a thin link: 400 kb/s against the 2 Mb/s top layer, the 150 kb/s layer fits
      [1_500_000, undefined, "f"], // not far below the 2 Mb/s sent: the estimate still climbs there
      [3_000_000, 400_000, "f"], // after JOIN_MS a low estimate that has not fallen does not count
    ] as const) {
      const layers = threeLayers();
      let bandwidth: number = first;
      const { down, follower } = following(layers.f, () => ({ renderWidth: 1280, bandwidth }));
      try {
        layers.until(2000);
        if (later !== undefined) {
          follower.check(2000);
          layers.until(2000 + JOIN_MS + 1000);
          // Low from here on, without a fall from a peak in the last PEAK_WINDOW_MS to read as congestion.
          bandwidth = later;
          follower.check(2000 + JOIN_MS + 1000);
          layers.until(2000 + JOIN_MS + 6000);
          follower.check(2000 + JOIN_MS + 6000);
        } else {
          follower.check(2000);
        }
        const id = (down.pendingTrack ?? down.upTrack)?.id;
        assert.equal(id, expected, `first estimate ${first}${later !== undefined ? `, then ${later}` : ""}`);
      } finally {
        follower.close();
        layers.close();
      }
    }
  });

  test("loss above 2 % holds a climb; once calm, layers are climbed one at a time, CLIMB_SETTLE_MS apart", () => {
    const { q, h, f, until, close } = threeLayers();
    let loss = 0.05;
    const { down, follower } = following(q, () => ({ renderWidth: 1280, bandwidth: 3_000_000, loss }));
    try {
      const moves = movesOver(40_000, until, down, follower, (t) => {
        if (t === 20_000) loss = 0;
      });
      assert.deepEqual(
        moves.map((m) => m.to),
        [h, f],
        "up one layer at a time",
      );
      assert.ok(moves[0].at >= 20_000, `no climb while 5 % was lost (first at ${moves[0].at} ms)`);
      assert.ok(moves[1].at - moves[0].at >= CLIMB_SETTLE_MS, `the second climb ${moves[1].at - moves[0].at} ms after the first`);
    } finally {
      follower.close();
      close();
    }
  });

  test("a climb the estimate carried that meets loss within seconds counts as a climb that did not fit: the hold before the next doubles", () => {
    const { q, h, f, until, close } = threeLayers();
    let loss = 0;
    // The estimate carries the 640 px layer (500 kb/s), not the 1280 px one; the viewer's size asks for 1280.
    const { down, follower } = following(q, () => ({ renderWidth: 1280, bandwidth: 800_000, loss }));
    try {
      const moves = movesOver(60_000, until, down, follower, (t, sofar) => {
        // A link that drops (or seems to drop: reordering) a fifth of the 640 px layer's packets, for 1.5 s after each climb to it.
        const climbed = sofar.at(-1);
        loss = climbed?.to === h && t - climbed.at >= 1000 && t - climbed.at <= 2500 ? 0.2 : 0;
      });
      const ups = moves.filter((m) => m.to === h).map((m) => m.at);
      const downs = moves.filter((m) => m.to === q).map((m) => m.at);
      assert.ok(ups.length >= 2 && downs.length >= 2, `up and down again: ${moves.map((m) => `${m.to.id}@${m.at}`).join(" ")}`);
      assert.ok(!moves.some((m) => m.to === f), "never the layer the estimate does not carry");
      // Each climb back waits for a hold twice the last: 20 s after the first failed climb, 40 s after the second.
      const holds = downs.slice(0, -1).map((d, i) => ups[i + 1] - d);
      assert.ok(holds[0] >= 20_000, `the first climb back ${holds[0]} ms after the move down`);
      if (holds.length > 1) assert.ok(holds[1] >= 40_000, `the second ${holds[1]} ms after`);
    } finally {
      follower.close();
      close();
    }
  });

  test("a report with loss above LOSS_CONGESTED is acted on when it arrives, not at the next interval, once the loss counts again after a move down", () => {
    const { q, h, f, until, close } = threeLayers();
    let loss = 0;
    const { down, follower } = following(f, () => ({ renderWidth: 1280, bandwidth: 3_000_000, loss }));
    const on = () => down.pendingTrack ?? down.upTrack;
    try {
      until(2000);
      follower.check(2000);
      assert.equal(on(), f, "no loss: the top layer");
      loss = 0.3;
      until(2000 + EARLY_CHECK_GAP_MS);
      follower.feedback("report", 2000 + EARLY_CHECK_GAP_MS / 2);
      assert.equal(on(), f, "too soon after the last choice");
      follower.feedback("report", 2000 + EARLY_CHECK_GAP_MS);
      assert.equal(on(), h, "much loss: one layer down at once");
      const counts = 2000 + EARLY_CHECK_GAP_MS + LOSS_WINDOW_MS + QUEUE_DRAIN_MS;
      until(counts - 100);
      follower.feedback("report", counts - 100);
      assert.equal(on(), h, "the loss still covers the layer before: not acted on");
      loss = 0.05;
      until(counts);
      follower.feedback("report", counts);
      assert.equal(on(), h, "calm enough: no choice made now");
      loss = 0.3;
      follower.feedback("report", counts + 50);
      assert.equal(on(), q, "lossy still: down again at once");
    } finally {
      follower.close();
      close();
    }
  });

  test("a link that drops most of what it is sent carries what got through: the viewer goes straight to the layer that fits that, not half the loss down", () => {
    for (const [loss, dropped, to] of [
      [0.3, 0.3, "h"],
      [0.85, 0.85, "q"],
      // Mostly resent because late, not lost (a link that reorders): half the loss less.
      [0.85, 0.05, "h"],
    ] as const) {
      const layers = threeLayers();
      const { until, close } = layers;
      // No estimate yet (a viewer's first REMB can take seconds): loss is all there is.
      const { down, follower } = following(layers.f, () => ({ renderWidth: 1280, loss, dropped }));
      try {
        until(2000);
        follower.check(2000);
        // 2 Mb/s sent: 30 % lost leaves 1.7 Mb/s by half the loss (the 500 kb/s layer fits), 85 % 1.15 Mb/s, but 85 % lost 300 kb/s got through (only the 150 kb/s one fits).
        assert.equal((down.pendingTrack ?? down.upTrack)?.id, to, `${loss * 100} % lost or resent, ${dropped * 100} % lost`);
      } finally {
        follower.close();
        close();
      }
    }
  });

  test("an estimate that falls is acted on when it arrives, not at the next interval; one that does not fall waits", () => {
    const { h, f, until, close } = threeLayers();
    let bandwidth = 3_000_000;
    const { down, follower } = following(f, () => ({ renderWidth: 1280, bandwidth }));
    const on = () => down.pendingTrack ?? down.upTrack;
    try {
      until(2000);
      follower.check(2000);
      until(8000);
      follower.check(8000); // after JOIN_MS: only a fall from the recent peak counts
      assert.equal(on(), f);
      bandwidth = 1_000_000; // 2 Mb/s no longer fits, 500 kb/s does
      follower.feedback("estimate", 8000 + EARLY_CHECK_GAP_MS / 2);
      assert.equal(on(), f, "too soon after the last choice");
      bandwidth = 2_900_000; // within FALLING of the peak: no choice made now
      follower.feedback("estimate", 8000 + EARLY_CHECK_GAP_MS);
      assert.equal(on(), f, "not falling");
      bandwidth = 1_000_000;
      follower.feedback("estimate", 8000 + EARLY_CHECK_GAP_MS);
      assert.equal(on(), h, "down at once, a half interval before the timer");
    } finally {
      follower.close();
      close();
    }
  });
});
