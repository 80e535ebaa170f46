/**
 * A VP9 device: the device page publishes its camera in VP9 (`codec=vp9`),
 * in simulcast layers of three temporal layers each (L1T3) where Chromium
 * sends them. A WebRTC viewer decodes VP9 from the relay, which reads each
 * packet's temporal layer and each keyframe's size from the VP9 payload
 * descriptor; a viewer on the WebSocket stream gets pictures the server
 * decoded from the VP9 RTP with GStreamer. A viewer behind a thin link gets
 * fewer temporal layers, and its decoder goes on across the picture IDs
 * left out (VP9's are not renumbered: vp9.ts says why).
 *
 * As in bottleneck.test.ts (e2e/lib/pair-env.ts): the server, the device
 * page and the near pages run in one network namespace, the far viewer in
 * another, joined by a veth pair whose server side a token bucket can hold.
 */
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import type { Page } from "playwright-core";
import { canvasMoves, devicePublishing, framesAdvance, waitFor, withPages } from "./harness.js";
import { inboundVideo } from "./lib/inbound-video.js";
import { limitLink } from "./lib/netns.js";
import { FAR_LINK, startPairEnv, type PairEnv } from "./lib/pair-env.js";

let env: PairEnv | undefined;
before(async () => {
  env = await startPairEnv("vp9");
});
after(() => env?.close());

/** The codec of the page's inbound (or, with `outbound`, outbound) video, as getStats names it. */
const videoCodec = (page: Page, outbound = false): Promise<string | undefined> =>
  page.evaluate(`(async () => {
    const report = await globalThis.tessera.pc.getStats();
    let mime;
    report.forEach((s) => {
      if (s.type === "${outbound ? "outbound-rtp" : "inbound-rtp"}" && s.kind === "video" && s.codecId) mime ??= report.get(s.codecId)?.mimeType;
    });
    return mime;
  })()`);

/** The temporal layers the page says it gets, e.g. "3/3". */
const temporalOf = async (page: Page): Promise<string | undefined> => (await page.getAttribute("#player", "data-temporal")) ?? undefined;

test(
  "a VP9 device in simulcast with temporal layers: viewers decode VP9 over WebRTC and the WebSocket stream; a thin link gets fewer temporal layers and keeps decoding",
  { timeout: 180_000 },
  (t) =>
    withPages(t, { server: env!.server, browser: env!.near }, (nearPages) =>
      withPages(t, { server: env!.server, browser: env!.far }, async (farPages) => {
        const device = await nearPages.device("vp9-cam", "VP9 cam", "device", "", { simulcast: "1", codec: "vp9" });
        await devicePublishing(device);
        assert.equal(await waitFor("the device sending", () => videoCodec(device, true), { timeoutMs: 15_000 }), "video/VP9", "the device page sends VP9");

        const viewer = await nearPages.viewer("vp9-cam");
        const { width } = await framesAdvance(viewer, 10, 45_000);
        assert.equal(await videoCodec(viewer), "video/VP9", "the viewer decodes VP9: no transcode, no other codec");
        // The relay read L1T3 from the descriptors (vp9Temporal) and forwards all three layers to a viewer with room.
        const all = await waitFor("the viewer's temporal layers", () => temporalOf(viewer), { timeoutMs: 15_000 });
        t.diagnostic(`WebRTC viewer: VP9 at ${width} px wide, temporal layers ${all}`);
        assert.equal(all, "3/3", "three temporal layers, all forwarded");

        const watcher = await nearPages.viewer("vp9-cam", "watcher", { transport: "ws", codec: "jpeg" });
        const canvas = await canvasMoves(watcher, 30_000);
        t.diagnostic(`WebSocket viewer: a moving ${canvas.width}x${canvas.height} picture decoded from VP9`);
        await watcher.close();

        const thin = await farPages.viewer("vp9-cam", "viewer-thin", { transport: "webrtc" });
        await framesAdvance(thin, 10, 45_000);
        limitLink(env!.pair.server, FAR_LINK, 100);
        try {
          const t0 = Date.now();
          const fewer = await waitFor(
            "the thin viewer on fewer temporal layers",
            async () => ((await temporalOf(thin)) !== "3/3" ? temporalOf(thin) : undefined),
            {
              timeoutMs: 45_000,
              intervalMs: 250,
            },
          );
          const start = await inboundVideo(thin);
          const decoded = await waitFor(
            "inter frames decoded on fewer temporal layers",
            async () => {
              const now = await inboundVideo(thin);
              const frames = now.framesDecoded - start.framesDecoded;
              const keyframes = now.keyFramesDecoded - start.keyFramesDecoded;
              return frames - keyframes >= 5 ? { frames, keyframes } : undefined;
            },
            { timeoutMs: 45_000, intervalMs: 500 },
          );
          t.diagnostic(
            `100 kbit/s: temporal layers ${fewer} after ${Date.now() - t0} ms; then ${decoded.frames} frames decoded, ${decoded.keyframes} of them keyframes; now ${await temporalOf(thin)}`,
          );
        } finally {
          limitLink(env!.pair.server, FAR_LINK, 0);
        }
        await framesAdvance(viewer, 10, 15_000);
      }),
    ),
);
