/**
 * Resolution that follows the viewer: a server captures a private Xvnc
 * display with `--allow-resize`; the controlling viewer's player size
 * becomes the display's size through RandR, the stream follows without a
 * reconnect, and a second viewer on the fallback follows too.
 */
import assert from "node:assert/strict";
import { after, test } from "node:test";
import type { Page } from "playwright-core";
import { useEnv, viewerState, waitFor, withPages } from "./harness.js";
import { inboundVideo } from "./lib/inbound-video.js";
import { rootSize } from "./lib/x-display.js";
import { startXvfb, type TestDisplay } from "./lib/xvfb.js";

let display: TestDisplay | undefined;
const x = (): TestDisplay => {
  if (!display) throw new Error("Xvnc did not start");
  return display;
};
const env = useEnv(async () => {
  display = await startXvfb({ server: "Xvnc", width: 1280, height: 720 });
  return ["--source", `x11:${display.display}`, "--allow-input", "--allow-resize"];
});
after(() => display?.close());
const deviceId = () => `x11-${x().display.slice(1)}`;

/** The size the player asks for: its stage's CSS pixels, rounded down to even. */
const stageSize = (page: Page) =>
  page.evaluate(() => {
    const s = (globalThis as unknown as { document: { querySelector(q: string): { clientWidth: number; clientHeight: number } } }).document.querySelector(
      ".stage",
    );
    return `${Math.floor(s.clientWidth / 2) * 2}x${Math.floor(s.clientHeight / 2) * 2}`;
  });
const videoSize = (page: Page) =>
  page.evaluate(() => {
    const v = (globalThis as unknown as { document: { querySelector(q: string): { videoWidth: number; videoHeight: number } } }).document.querySelector(
      "#video",
    );
    return `${v.videoWidth}x${v.videoHeight}`;
  });
const canvasSize = (page: Page) =>
  page.evaluate(() => {
    const c = (globalThis as unknown as { document: { querySelector(q: string): { width: number; height: number } } }).document.querySelector("#canvas");
    return `${c.width}x${c.height}`;
  });

const videoStats = async (page: Page) => {
  const v = await inboundVideo(page);
  return `${v.frameWidth} px, ${v.packetsReceived} packets, ${v.framesDecoded} frames, ${v.keyFramesDecoded} keyframes, ${v.pliCount} PLIs, ${v.nackCount} NACKs`;
};

test("the controller's player size becomes the display's; WebRTC and fallback viewers follow without reconnecting", { timeout: 90_000 }, (t) =>
  withPages(t, env(), async (pages) => {
    const controller = await pages.viewer(deviceId(), "controller");
    const watcher = await pages.viewer(deviceId(), "watcher", { transport: "ws", codec: "jpeg" });
    await waitFor("the controller's picture at the display's first size", async () => (await videoSize(controller)) === "1280x720", { timeoutMs: 20_000 });
    await waitFor("the watcher's picture", async () => (await canvasSize(watcher)) === "1280x720", { timeoutMs: 20_000 });
    const offersBefore = (await viewerState(controller)).timeline?.offers;
    await controller.click("#control-toggle");
    await controller.waitForSelector('#player[data-control="self"]', { timeout: 5000 });

    for (const viewport of [
      { width: 1000, height: 640 },
      { width: 700, height: 600 },
    ]) {
      await controller.setViewportSize(viewport);
      const want = await waitFor("a settled stage size", async () => {
        const a = await stageSize(controller);
        await new Promise((r) => setTimeout(r, 100));
        return a === (await stageSize(controller)) ? a : undefined;
      });
      await waitFor(`the display at ${want}`, () => rootSize(x()) === want, { timeoutMs: 15_000 });
      const before = await videoStats(controller);
      await waitFor(`the controller's video at ${want}`, async () => (await videoSize(controller)) === want, { timeoutMs: 15_000 }).catch(
        async (err: Error) => {
          // Where the stream stopped: no packets, packets but no keyframe (asked for or not), or a keyframe decoded at another size.
          throw new Error(`${err.message}; video ${await videoSize(controller)}, inbound before ${before}, now ${await videoStats(controller)}`);
        },
      );
      await waitFor(`the watcher's canvas at ${want}`, async () => (await canvasSize(watcher)) === want, { timeoutMs: 15_000 });
      t.diagnostic(`viewport ${viewport.width}x${viewport.height}: display, video and canvas at ${want}`);
    }
    assert.equal((await viewerState(controller)).timeline?.offers, offersBefore, "no renegotiation: the stream went on at the new size");
    assert.equal(await controller.getAttribute("#player", "data-connection-state"), "connected");
  }),
);
