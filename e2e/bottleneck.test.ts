/**
 * One of two viewers behind a thin link: the server, the simulcast device
 * page and viewer B run in one network namespace, viewer A in another
 * joined by a veth pair (e2e/lib/netns.ts); a token bucket on the server's
 * side of the pair holds everything towards A to 400 kbit/s. A's browser
 * cuts its bandwidth estimate (REMB) and the relay moves A to a lower layer
 * while B keeps the top one; once the limit is lifted A climbs back, each
 * climb after a probe with padding has shown the link has room. At
 * 100 kbit/s not even the smallest layer fits: the viewer leaves WebRTC for
 * the WebSocket stream, and probes its way back once the link is free.
 */
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import type { Page } from "playwright-core";
import { devicePublishing, framesAdvance, readMetricFromPage, viewerState, waitFor, withPages } from "./harness.js";
import { inboundVideo } from "./lib/inbound-video.js";
import { limitLink } from "./lib/netns.js";
import { FAR_LINK, startPairEnv, topWidth, type PairEnv } from "./lib/pair-env.js";

let env: PairEnv | undefined;
before(async () => {
  env = await startPairEnv("bw");
});
after(() => env?.close());

const frameWidth = async (page: Page): Promise<number> => (await inboundVideo(page)).frameWidth;

test(
  "a 400 kbit/s link to one of two viewers: it drops to a lower layer, the other keeps the top one, and it climbs back once the link is free",
  { timeout: 240_000 },
  (t) =>
    withPages(t, { server: env!.server, browser: env!.near }, (nearPages) =>
      withPages(t, { server: env!.server, browser: env!.far }, async (farPages) => {
        const ns = env!.pair.server;
        const device = await nearPages.device("bw-cam", "Bottleneck cam", "device", "", { simulcast: "1" });
        await devicePublishing(device);
        const b = await nearPages.viewer("bw-cam", "viewer-near");
        const a = await farPages.viewer("bw-cam", "viewer-far");
        // Generous: on a loaded machine the first frames through the namespaces have taken over 20 s.
        await Promise.all([framesAdvance(a, 10, 45_000), framesAdvance(b, 10, 45_000)]);
        const onTop = async (p: Page) => {
          const top = await topWidth(device);
          return top > 0 && (await frameWidth(p)) >= top ? true : undefined;
        };
        await waitFor("both viewers on the top layer", async () => ((await onTop(a)) && (await onTop(b)) ? true : undefined), { timeoutMs: 30_000 });

        limitLink(ns, FAR_LINK, 400);
        try {
          const t0 = Date.now();
          const low = await waitFor(
            "the far viewer on a lower layer",
            async () => {
              const w = await frameWidth(a);
              return w > 0 && w < (await topWidth(device)) ? w : undefined;
            },
            { timeoutMs: 30_000, intervalMs: 250 },
          );
          const droppedMs = Date.now() - t0;
          await framesAdvance(a, 5, 15_000);
          t.diagnostic(`400 kbit/s to A: A on ${low} px after ${droppedMs} ms; B on ${await frameWidth(b)} px, the top layer ${await topWidth(device)} px`);
          // The near viewer's link is free: it is on the top layer (given a moment, if the busy machine shrank the top layer meanwhile).
          assert.ok(await waitFor("the near viewer on the top layer", () => onTop(b), { timeoutMs: 10_000 }), "the near viewer keeps the top layer");
        } finally {
          limitLink(ns, FAR_LINK, 0);
        }
        const t1 = Date.now();
        const probed = await readMetricFromPage(b, "tessera_bandwidth_probes_total", { outcome: "room" });
        await waitFor("the far viewer back on the top layer", () => onTop(a), { timeoutMs: 60_000, intervalMs: 250 });
        const rooms = (await readMetricFromPage(b, "tessera_bandwidth_probes_total", { outcome: "room" })) - probed;
        const congested = await readMetricFromPage(b, "tessera_bandwidth_probes_total", { outcome: "congested" });
        t.diagnostic(`limit lifted: A back on ${await frameWidth(a)} px after ${Date.now() - t1} ms; probes with room ${rooms}, congested ${congested}`);
        // Each climb back waited for padding to show the link had room for it (VP8 layers can be probed).
        assert.ok(rooms >= 1, "the climb back was probed");
        await framesAdvance(a, 10, 15_000);
      }),
    ),
);

test("a 100 kbit/s link: the viewer leaves WebRTC for the WebSocket stream, and comes back once the link is free", { timeout: 180_000 }, (t) =>
  withPages(t, { server: env!.server, browser: env!.near }, (nearPages) =>
    withPages(t, { server: env!.server, browser: env!.far }, async (farPages) => {
      const ns = env!.pair.server;
      const device = await nearPages.device("thin-cam", "Thin cam", "device", "", { simulcast: "1" });
      await devicePublishing(device);
      const a = await farPages.viewer("thin-cam", "viewer-thin", { transport: "auto" });
      // On a loaded machine the page may give WebRTC up before it connects; Try WebRTC again is what a user does then.
      await waitFor(
        "the viewer playing over WebRTC",
        async () => {
          if ((await a.getAttribute("#player", "data-transport")) !== "webrtc") await a.click("#retry-webrtc", { timeout: 2000 }).catch(() => undefined);
          return (await inboundVideo(a)).framesDecoded >= 10 ? true : undefined;
        },
        { timeoutMs: 60_000, intervalMs: 1000 },
      );
      limitLink(ns, FAR_LINK, 100);
      try {
        const t0 = Date.now();
        // What the viewer went through on the way: its layer, temporal layers and decoded frames, each second.
        const timeline: string[] = [];
        let last = "";
        let samples = 0;
        await waitFor(
          "the viewer on the WebSocket stream",
          async () => {
            const [transport, layer, temporal] = await a.evaluate<[string?, string?, string?]>(
              `(() => { const d = document.querySelector("#player").dataset; return [d.transport, d.layer, d.temporal]; })()`,
            );
            const frames =
              transport === "webrtc"
                ? await inboundVideo(a).then(
                    (v) => v.framesDecoded,
                    () => -1,
                  )
                : -1;
            const now = `${transport} layer ${layer ?? "–"} temporal ${temporal ?? "–"}`;
            if (now !== last || samples++ % 3 === 0) timeline.push(`${((Date.now() - t0) / 1000).toFixed(1)} s ${now} frames ${frames}`);
            last = now;
            return transport?.startsWith("ws_") ? true : undefined;
          },
          { timeoutMs: 60_000, intervalMs: 1000 },
        );
        const movedMs = Date.now() - t0;
        const v = await viewerState(a);
        t.diagnostic(`100 kbit/s: on ${v.transport} after ${movedMs} ms (reason ${v.fallback?.reason}); on the way: ${timeline.join("; ")}`);
        assert.ok(["too_slow", "stalled", "lost", "not_connected", "failed"].includes(v.fallback?.reason ?? ""), `reason ${v.fallback?.reason}`);
        await waitFor("a picture on the canvas", async () => ((await viewerState(a)).fallback?.framesPainted ? true : undefined), { timeoutMs: 30_000 });
      } finally {
        limitLink(ns, FAR_LINK, 0);
      }
      const t1 = Date.now();
      await a.waitForSelector('#player[data-transport="webrtc"]', { state: "attached", timeout: 90_000 });
      t.diagnostic(`limit lifted: back on WebRTC after ${Date.now() - t1} ms`);
      await framesAdvance(a, 10, 15_000);
    }),
  ),
);
