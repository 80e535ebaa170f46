/**
 * The time-stamped picture that `npm run bench:latency` measures
 * glass-to-glass with (e2e/pages/stamp.ts, bench/stamp-pages.ts): a device
 * page publishes it as its camera, and the time drawn into it reads back
 * on Tessera's viewer page over WebRTC and over the jpeg-striped fallback,
 * and on the direct pair the bench compares against. Every frame read is a
 * new one, none is shown before it was drawn, and their median delay on
 * loopback is under half a second.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import type { Page } from "playwright-core";
import { callStamp, openDirectPair, openStampPublisher, stampWatcher, watchStamps } from "../bench/stamp-pages.js";
import { DESKTOP, useEnv, waitFor, withPages } from "./harness.js";
import type { StampReadings } from "./stamp-api.js";

const env = useEnv();
/**
 * Frames read per path: two seconds' worth. A joining jpeg-striped viewer's
 * first frames come late while its page starts and its pacer settles; on the
 * loaded CI machine that took 18 frames after the first (delays rising to
 * 1.5 s, then 66 ms), so a count of 20 read mostly the start. The median of
 * 60 is the steady stream's.
 */
const FRAMES = 60;

/**
 * How far before its drawing a frame may read as shown, ms. The time read
 * is when the browser expects to show the frame (requestVideoFrameCallback's
 * expectedDisplayTime, an animation frame's start): an estimate of a display
 * refresh, which for a frame drawn late in the refresh before came up to
 * 2 ms before the drawing's own time in fresh-clone runs (−2, −1, 0 among
 * 16 ms delays). More than this would be a clock gone wrong.
 */
const EARLY_MS = 5;

/**
 * Waits for `page`'s first stamped frame, then for FRAMES more; checks what
 * it read.
 */
async function readsStamps(page: Page, label: string): Promise<StampReadings> {
  await waitFor(`${label}: the first stamped frame`, async () => (await callStamp(page, "readings", false)).firstAt !== null, {
    timeoutMs: 30_000,
    intervalMs: 100,
  });
  await callStamp(page, "readings", true);
  const r = await waitFor(
    `${label}: ${FRAMES} stamped frames`,
    async () => {
      const r = await callStamp(page, "readings", false);
      return r.frames >= FRAMES ? r : undefined;
    },
    { timeoutMs: 30_000, intervalMs: 100 },
  );
  const delays = r.delays.map((d) => d.toFixed(0)).join(" ");
  assert.equal(r.delays.length, r.frames, `${label}: one delay per new frame`);
  assert.ok(
    r.delays.every((d) => d >= -EARLY_MS),
    `${label}: no frame shown before it was drawn: ${delays}`,
  );
  const sorted = [...r.delays].sort((a, b) => a - b);
  assert.ok(sorted[Math.floor(sorted.length / 2)] < 500, `${label}: a median delay under 500 ms on loopback: ${delays}`);
  assert.equal(r.width, 640, `${label}: frames of the canvas's width`);
  return r;
}

test("the stamped canvas reads back through Tessera over WebRTC and the jpeg fallback, and over a direct pair", { timeout: 120_000 }, (t) =>
  withPages(t, env(), async (pages) => {
    const publisher = await openStampPublisher(env(), "stamped", 640, 360);
    try {
      // The watcher as the bench installs it (an init script, before the page's own), and as added to a page already open.
      const webrtc = await pages.viewer("stamped", "webrtc", {}, DESKTOP, stampWatcher("#video"));
      const w = await readsStamps(webrtc, "WebRTC");
      // Every frame of a video is whole: both copies of the stamp agree, in all but at most one frame in ten.
      assert.ok(w.unreadable <= FRAMES / 10, `WebRTC: ${w.unreadable} of ${w.frames} frames with copies that disagree`);
      const jpeg = await pages.viewer("stamped", "jpeg", { transport: "ws", codec: "jpeg" });
      await watchStamps(jpeg, "#canvas");
      await readsStamps(jpeg, "jpeg-striped");
    } finally {
      await publisher.close();
    }
    const pair = await openDirectPair(env().browser, 640, 360);
    try {
      await readsStamps(pair.receiver, "direct");
    } finally {
      await pair.close();
    }
  }),
);
