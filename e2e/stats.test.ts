/** Unit tests of web/src/stats.ts (see e2e/coords.test.ts for why they live in e2e/). */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { statsRows, summarize } from "../web/src/stats-summary.js";

const report = (bytes: number, frames: number, candidateType: string, jitter: { delay: number; emitted: number } = { delay: 0, emitted: 0 }) => [
  { id: "T", type: "transport", selectedCandidatePairId: "P" },
  { id: "P", type: "candidate-pair", localCandidateId: "L", currentRoundTripTime: 0.012, nominated: true, state: "succeeded" },
  { id: "L", type: "local-candidate", candidateType },
  {
    id: "V",
    type: "inbound-rtp",
    kind: "video",
    bytesReceived: bytes,
    framesDecoded: frames,
    packetsLost: 3,
    codecId: "C",
    frameWidth: 1280,
    frameHeight: 720,
    jitterBufferDelay: jitter.delay,
    jitterBufferEmittedCount: jitter.emitted,
  },
  { id: "C", type: "codec", mimeType: "video/VP8" },
];

describe("summarize", () => {
  test("rates are deltas over the interval; the route is the selected pair's local candidate type", () => {
    const first = summarize(report(0, 0, "relay"), undefined, 1000);
    assert.equal(first.videoKbps, null, "no rate without a previous sample");
    const s = summarize(report(125_000, 30, "relay"), first, 2000);
    assert.equal(s.videoKbps, 1000);
    assert.equal(s.fps, 30);
    assert.equal(s.rttMs, 12);
    assert.equal(s.transport, "webrtc");
    assert.equal(s.route, "relay");
    const rows = Object.fromEntries(statsRows(s));
    assert.equal(rows.via, "WebRTC · relay");
    assert.equal(rows.video, "1000 kb/s");
    assert.equal(rows.size, "1280×720");
    assert.equal(rows.lost, "3");
    assert.equal(rows.layer, undefined, "no layer row without the server's `layer`");
  });

  test("the server's layer and bandwidth estimate show while on WebRTC, not on the WebSocket stream", () => {
    const s = summarize(report(125_000, 30, "host"), summarize(report(0, 0, "host"), undefined, 1000), 2000);
    const layer = { layer: 1, layers: 3, width: 640, height: 360, estimate: 812_000 };
    const rows = Object.fromEntries(statsRows(s, { layer }));
    assert.equal(rows.layer, "2 of 3 · 640×360");
    assert.equal(Object.fromEntries(statsRows(s, { layer: { ...layer, temporal: 0, temporalLayers: 3 } })).layer, "2 of 3 · 640×360 · ¼ of the frames");
    assert.equal(Object.fromEntries(statsRows(s, { layer: { ...layer, temporal: 2, temporalLayers: 3 } })).layer, "2 of 3 · 640×360");
    assert.equal(Object.fromEntries(statsRows(s, { layer: { ...layer, probing: true } })).layer, "2 of 3 · 640×360 · probing");
    assert.equal(rows.estimate, "0.81 Mb/s");
    assert.equal(Object.fromEntries(statsRows(s, { layer: { ...layer, estimate: 2_450_000 } })).estimate, "2.5 Mb/s");
    assert.equal(Object.fromEntries(statsRows(s, { layer: { layer: 0, layers: 2 } })).estimate, undefined, "no estimate row before the viewer sent one");
    const socket = Object.fromEntries(statsRows({ ...s, transport: "ws_jpeg" }, { layer }));
    assert.equal(socket.layer, undefined);
    assert.equal(socket.estimate, undefined);
  });

  test("the playout delay is the jitter buffer's average wait over the interval", () => {
    const first = summarize(report(0, 0, "host", { delay: 2.0, emitted: 100 }), undefined, 1000);
    assert.equal(first.delayMs, 20, "since the start, without a previous sample");
    // 30 frames more waited 1.5 s more in all: 50 ms each.
    const s = summarize(report(1000, 30, "host", { delay: 3.5, emitted: 130 }), first, 2000);
    assert.equal(s.delayMs, 50);
    assert.equal(Object.fromEntries(statsRows(s)).delay, "50 ms");
    const none = summarize(report(2000, 30, "host", { delay: 3.5, emitted: 130 }), s, 3000);
    assert.equal(Math.round(none.delayMs ?? 0), 27, "no frame emitted in the interval: the average since the start (3.5 s / 130)");
  });

  test("NACKs are read from the video, and the page's target for resends shows beside the delay", () => {
    const s = summarize(report(1000, 30, "host", { delay: 4.5, emitted: 30 }), undefined, 1000);
    assert.equal(s.nackCount, null, "the report has none");
    const withNacks = summarize(
      report(1000, 30, "host", { delay: 4.5, emitted: 30 }).map((r) => (r.type === "inbound-rtp" ? { ...r, nackCount: 12 } : r)),
      undefined,
      1000,
    );
    assert.equal(withNacks.nackCount, 12);
    assert.equal(Object.fromEntries(statsRows({ ...withNacks, repairTargetMs: 120 })).delay, "150 ms · 120 ms for resends");
    assert.equal(Object.fromEntries(statsRows({ ...withNacks, repairTargetMs: 120, transport: "ws_jpeg" })).delay, "150 ms", "not on the WebSocket stream");
  });
});
