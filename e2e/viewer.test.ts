/** The viewer against the server's built-in test device (GStreamer VP8 + Opus, no WebRTC hop upstream). */
import assert from "node:assert/strict";
import { test } from "node:test";
import { DESKTOP, devicePublishing, framesAdvance, probe, readMetric, useEnv, viewerState, waitFor, withPages } from "./harness.js";
import { inboundVideo, reportedVideoPackets } from "./lib/inbound-video.js";
import { screenshot } from "./lib/screenshots.js";

const env = useEnv();

/** Counts the page's WebSockets and Content-Security-Policy refusals (an init script: before the page's own). */
const COUNT_SOCKETS_AND_REFUSALS = `(() => {
  const counts = { sockets: 0, refused: [] };
  window.pageCounts = counts;
  document.addEventListener("securitypolicyviolation", (e) => counts.refused.push(e.violatedDirective));
  const Native = window.WebSocket;
  window.WebSocket = class extends Native {
    constructor(...args) {
      super(...args);
      counts.sockets++;
    }
  };
})();`;

test("the built-in test device plays in the viewer at /?device=test", { timeout: 30_000 }, (t) =>
  withPages(t, env(), async (pages) => {
    const page = await pages.viewer("test", "viewer", {}, DESKTOP, [COUNT_SOCKETS_AND_REFUSALS]);
    // 30 new frames is one second of the 30 fps test pattern: the picture moves.
    const { ms, width, height } = await framesAdvance(page, 30, 10_000);
    t.diagnostic(`30 frames presented ${ms} ms after navigation settled; ${width}x${height}`);
    assert.ok(width > 0 && height > 0, "frames have a size");
    const viewer = await viewerState(page);
    assert.equal(viewer.deviceId, "test");
    assert.equal(viewer.connectionState, "connected");
    assert.equal(await page.getAttribute("#player", "data-connection-state"), "connected");
    assert.equal(await page.getAttribute("#player", "data-device-state"), "online");
    assert.equal(await page.isVisible("#overlay"), false, "no overlay over a playing video");
    // The stats overlay is fed from getStats().
    const stats = await waitFor("stats with a codec and a frame rate", async () => {
      const s = (await viewerState(page)).stats;
      return s && s.videoCodec && s.fps ? s : undefined;
    });
    assert.equal(stats.videoCodec, "video/VP8");
    assert.equal(stats.transport, "webrtc");
    assert.match((await page.textContent("#stats")) ?? "", /WebRTC · host/, "the overlay names the transport");
    // The device list shows the test device online.
    await page.waitForSelector('#devices button[data-device-id="test"][data-online="true"]', { timeout: 5000 });
    // The page learnt the sign-in mode once, from its HTML's preload (the app's own fetch took that answer), and
    // with --auth none asked for no session.
    const signIn = await page.evaluate(() =>
      performance
        .getEntriesByType("resource")
        .filter((e) => /\/api\/(auth-config|session)$/.test(new URL(e.name).pathname))
        .map((e) => `${(e as { initiatorType?: string }).initiatorType} ${new URL(e.name).pathname}`),
    );
    assert.deepEqual(signIn, ["link /api/auth-config"]);
    // The page's head opened the signaling socket (its inline script allowed by hash) and the app took it up.
    const counts = await page.evaluate(() => (globalThis as unknown as { pageCounts: { sockets: number; refused: string[] } }).pageCounts);
    assert.deepEqual(counts, { sockets: 1, refused: [] });
    await screenshot(page, "playing");
  }),
);

// How fast the late viewer's picture comes is bench:join's figure (README); a timed bound here would measure the suite's load.
test("a second viewer joining late gets a keyframe forced for it and shows a picture", { timeout: 30_000 }, (t) =>
  withPages(t, env(), async (pages) => {
    const server = env().server;
    const first = await pages.viewer("test", "viewer1");
    await framesAdvance(first, 30, 10_000);

    const forcedBefore = await readMetric(server, "tessera_keyframe_requests_total", { direction: "sent", type: "encoder" });
    const late = await pages.viewer("test", "viewer2");
    const shown = await waitFor("the late viewer's first frame", async () => {
      const p = await probe(late);
      return p.firstFrameAt !== null ? p : undefined;
    });
    const { timeline } = await viewerState(late);
    assert.ok(timeline?.connectedAt != null && timeline.watchSentAt != null, "the viewer recorded its milestones");
    const firstFrameAt = shown.firstFrameAt ?? NaN;
    const fromConnected = firstFrameAt - timeline.connectedAt;
    t.diagnostic(
      `late viewer: navigation→first frame ${firstFrameAt.toFixed(0)} ms, watch→first frame ` +
        `${(firstFrameAt - timeline.watchSentAt).toFixed(0)} ms, connected→first frame ${fromConnected.toFixed(0)} ms`,
    );
    const forced = (await readMetric(server, "tessera_keyframe_requests_total", { direction: "sent", type: "encoder" })) - forcedBefore;
    assert.ok(forced >= 1, "the relay asked the test device's encoder for a keyframe for the late viewer");
    // Both keep playing.
    await Promise.all([framesAdvance(late, 30), framesAdvance(first, 30)]);
  }),
);

test(
  "watching moves the relay's metrics: viewers, packets and bytes out, forward latency; Chromium is served by the fast path and its fan-out",
  { timeout: 30_000 },
  (t) =>
    withPages(t, env(), async (pages) => {
      const server = env().server;
      const before = {
        packets: await readMetric(server, "tessera_rtp_packets_total", { direction: "out", kind: "video" }),
        bytes: await readMetric(server, "tessera_rtp_payload_bytes_total", { direction: "out" }),
        latency: await readMetric(server, "tessera_forward_latency_seconds_count"),
        werift: await readMetric(server, "tessera_rtp_werift_path_packets_total", { kind: "video" }),
        fanout: await readMetric(server, "tessera_rtp_fanout_packets_total", { kind: "video" }),
      };
      const page = await pages.viewer("test");
      await framesAdvance(page, 60, 10_000);
      assert.ok((await readMetric(server, "tessera_viewers", { transport: "webrtc" })) >= 1, "the viewer is counted as webrtc");
      const after = {
        packets: await readMetric(server, "tessera_rtp_packets_total", { direction: "out", kind: "video" }),
        bytes: await readMetric(server, "tessera_rtp_payload_bytes_total", { direction: "out" }),
        latency: await readMetric(server, "tessera_forward_latency_seconds_count"),
        werift: await readMetric(server, "tessera_rtp_werift_path_packets_total", { kind: "video" }),
        fanout: await readMetric(server, "tessera_rtp_fanout_packets_total", { kind: "video" }),
      };
      t.diagnostic(`over two seconds of video: ${after.packets - before.packets} packets, ${after.bytes - before.bytes} bytes out`);
      assert.ok(after.packets - before.packets >= 60, "at least a packet per frame went out");
      assert.ok(after.bytes - before.bytes > 10_000, "bytes out moved");
      assert.ok(after.latency - before.latency >= after.packets - before.packets, "every forwarded packet's latency was observed");
      // Chromium negotiates what the fast path writes (its SRTP profile, mid and abs-send-time): werift's own send carries at most the first few.
      const viaWerift = after.werift - before.werift;
      t.diagnostic(`${viaWerift} video packets went through werift's sendRtp`);
      assert.ok(viaWerift <= 0.1 * (after.packets - before.packets), `${viaWerift} of ${after.packets - before.packets} packets took werift's path`);
      // Once its first keyframe is out, the viewer's track is steady: the native fan-out sends its packets, and Chromium plays them.
      const fannedOut = after.fanout - before.fanout;
      t.diagnostic(`${fannedOut} video packets went through the native fan-out`);
      assert.ok(fannedOut >= 0.5 * (after.packets - before.packets), `${fannedOut} of ${after.packets - before.packets} packets went through the fan-out`);
      // Its sender reports (written and protected by the relay's own path, one every second or so) reach Chromium and count the packets.
      const reported = await waitFor("a sender report counting the video's packets", async () => {
        const n = await reportedVideoPackets(page);
        return n > 0 ? n : undefined;
      });
      const received = (await inboundVideo(page)).packetsReceived;
      assert.ok(reported <= received + 50, `a report counts ${reported} packets; ${received} received`);
    }),
);

test(
  "the dashboard (/grid.html, what -d opens) shows every device with its picture refreshing, of any size, and a placeholder where none comes",
  { timeout: 60_000 },
  (t) =>
    withPages(t, env(), async (pages) => {
      // A device of another size than the test pattern's 1280×720: the tiles' requests run in parallel.
      const device = await pages.device("grid-cam", "Grid cam", "device", "", { size: "640x480" });
      await devicePublishing(device);
      const page = await pages.grid();
      const tile = page.locator('.tile[data-device-id="test"]');
      const cam = page.locator('.tile[data-device-id="grid-cam"]');
      await tile.waitFor({ timeout: 10_000 });
      assert.equal(await tile.getAttribute("href"), "/?device=test");
      // Each refresh that brought a new frame counts; the test pattern changes every second.
      await waitFor("three new frames on both tiles", async () =>
        (await Promise.all([tile, cam].map(async (l) => Number((await l.getAttribute("data-frames")) ?? 0)))).every((n) => n >= 3),
      );
      const natural = (l: typeof tile) =>
        l
          .locator("img")
          .evaluate((img) => [(img as unknown as { naturalWidth: number }).naturalWidth, (img as unknown as { naturalHeight: number }).naturalHeight]);
      assert.deepEqual(await natural(tile), [1280, 720]);
      const camSize = await natural(cam);
      t.diagnostic(`tiles: test 1280x720, grid-cam ${camSize.join("x")}`);
      assert.notEqual(camSize[0], 1280, "the two devices differ in size");
      assert.equal(await page.locator(".tile[data-errors]").count(), 0, "no frame request failed");
      assert.equal(await cam.getAttribute("data-picture"), "shown");
      await screenshot(page, "dashboard");

      // The device goes away: a dashboard opened now shows its tile with a placeholder, not a broken image.
      await device.close();
      await waitFor("the tile offline", async () => (await cam.getAttribute("data-online")) === "false");
      const fresh = await pages.grid("grid-2");
      const offline = fresh.locator('.tile[data-device-id="grid-cam"]');
      await offline.waitFor({ timeout: 10_000 });
      await waitFor("the offline tile", async () => (await offline.getAttribute("data-online")) === "false");
      assert.equal(await offline.getAttribute("data-picture"), "none");
      assert.equal(await offline.locator("img").isHidden(), true, "no image where there is no picture");
      assert.equal(await offline.locator(".tile-placeholder").textContent(), "Offline");
    }),
);
