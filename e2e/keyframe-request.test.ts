/**
 * A viewer that missed its keyframe asks for another with a PLI, and gets
 * it. Chromium sends its PLIs under the SSRC of its talk-back audio
 * (server/rtc/feedback-routing.ts). The server captures a still Xvfb display
 * (idling at 2 frames a second, so its periodic keyframes come minutes
 * apart) inside a network namespace where nftables drops every SRTP and
 * SRTCP packet until the viewer's connection is up and its first keyframe
 * has gone into the drop: from then on the viewer gets inter frames only,
 * and only its PLI brings a picture.
 */
import assert from "node:assert/strict";
import { after, test } from "node:test";
import type { Page } from "playwright-core";
import { KEYFRAME_RETRY_MS } from "../server/relay/down-track.js";
import { readMetricFromPage, useEnv, waitFor, withPages, type Env } from "./harness.js";
import { inboundVideo } from "./lib/inbound-video.js";
import { createNetns, droppedUdp, dropUdp, type Netns } from "./lib/netns.js";
import { startXvfb, type TestDisplay } from "./lib/xvfb.js";

let netns: Netns | undefined;
let display: TestDisplay | undefined;
const env = useEnv(
  async () => {
    display = await startXvfb({ width: 640, height: 360 });
    return ["--source", `x11:${display.display}`];
  },
  {
    enter: async () => (netns = await createNetns("pli")).exec,
    leave: async () => netns?.destroy(),
  },
);
after(() => display?.close());

function ready(): { env: Env; netns: Netns; deviceId: string } {
  if (!netns || !display) throw new Error("the namespace or the display did not start");
  return { env: env(), netns, deviceId: `x11-${display.display.slice(1)}` };
}

const videoWidth = (page: Page) =>
  page.evaluate(
    () => (globalThis as unknown as { document: { querySelector(q: string): { videoWidth: number } } }).document.querySelector("#video").videoWidth,
  );
/** Asks to the encoder (the relay's own, and the viewer's PLIs passed on) unchanged for longer than the relay's retry: none outstanding. */
function relayStoppedAsking(page: Page): () => Promise<boolean> {
  let last = -1;
  let since = Date.now();
  return async () => {
    const asked = await readMetricFromPage(page, "tessera_keyframe_requests_total", { direction: "sent" });
    if (asked !== last) [last, since] = [asked, Date.now()];
    return Date.now() - since > KEYFRAME_RETRY_MS * 2;
  };
}
const plisTaken = (page: Page) => readMetricFromPage(page, "tessera_keyframe_requests_total", { direction: "received", type: "pli" });

test("a viewer whose keyframe was lost gets a picture once its PLI asks for another", { timeout: 60_000 }, (t) =>
  withPages(t, ready().env, async (pages) => {
    const { netns, deviceId } = ready();
    dropUdp(netns, 100, { mediaOnly: true });
    let viewer: Page;
    try {
      viewer = await pages.viewer(deviceId);
      await waitFor("the connection up with no media", async () => (await viewer.getAttribute("#player", "data-connection-state")) === "connected", {
        timeoutMs: 20_000,
      });
      const atConnection = droppedUdp(netns);
      // The held keyframe goes out as the connection comes up, and a fresh one when the hold ran out before it; then inter frames.
      await waitFor("media dropped after the connection", () => droppedUdp(netns) >= atConnection + 12, { timeoutMs: 10_000 });
      // The relay asks its encoder again every KEYFRAME_RETRY_MS while a keyframe it waits for has not come: a fresh one let
      // through by the lift would bring a picture with no PLI. Lift only once it has stopped asking (its keyframe went into the drop).
      await waitFor("the relay no longer waiting for a keyframe of its own", relayStoppedAsking(viewer), { timeoutMs: 15_000, intervalMs: 200 });
      // Read while media is still dropped: once the rule is lifted, a PLI sent that moment can bring a picture before the read.
      assert.equal(await videoWidth(viewer), 0, "no picture yet: the keyframe went into the drop");
    } finally {
      dropUdp(netns, 0);
    }
    await waitFor("a picture", async () => (await videoWidth(viewer)) > 0, { timeoutMs: 10_000 });
    const video = await inboundVideo(viewer);
    const taken = await plisTaken(viewer);
    t.diagnostic(`picture at ${await videoWidth(viewer)} px after ${video.pliCount} PLIs from the viewer, ${taken} taken by the server`);
    assert.ok(video.pliCount >= 1, "the viewer asked with a PLI");
    assert.ok(taken >= 1, "the server took it");
  }),
);
