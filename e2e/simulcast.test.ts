/**
 * Simulcast in Chromium: the device page publishes its camera in three
 * layers (a quarter, half and full size), and each viewer gets the layer
 * its picture size calls for. A viewer whose player shrinks moves down to a
 * small layer and back up when it grows, at keyframes, while its decoder
 * never stops: frames keep coming through every switch. A shared screen
 * goes out in the same three layers.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import type { Page } from "playwright-core";
import { devicePublishing, framesAdvance, readMetric, type TestServer, useEnv, waitFor, withPages } from "./harness.js";
import { inboundVideo } from "./lib/inbound-video.js";

// No built-in test device: its 720p encoder would take most of a core from the browsers here.
const env = useEnv(() => ["--source", "none"]);

/** What the device page sends per layer (rid/width/bytes/fps/limitation/active) and its estimate of the way out, for a failure report. */
const deviceLayers = (device: Page): Promise<string> =>
  device.evaluate(`(async () => {
    const rows = [];
    (await globalThis.tessera.pc.getStats()).forEach((s) => {
      if (s.type === "outbound-rtp" && s.kind === "video") rows.push([s.rid, s.frameWidth, s.bytesSent, s.framesPerSecond, s.qualityLimitationReason, s.active].join("/"));
      if (s.type === "candidate-pair" && s.nominated) rows.push("out " + s.availableOutgoingBitrate);
    });
    return rows.join("; ");
  })()`);

/** What the server counted of loss and repair, for a failure report. */
const serverRepair = async (server: TestServer): Promise<string> => {
  const lost = (reporter: string) => readMetric(server, "tessera_rtp_packets_lost_total", { reporter });
  return [
    `nacks ${await readMetric(server, "tessera_nacks_received_total")}`,
    `resent ${await readMetric(server, "tessera_retransmissions_sent_total")}`,
    `lost by viewers ${await lost("viewer")}, by the device ${await lost("device")}`,
    `through werift ${await readMetric(server, "tessera_rtp_werift_path_packets_total")}`,
  ].join(", ");
};

/** framesAdvance, and on a timeout what the viewer, the device page and the server say. */
const advancing = (server: TestServer, viewer: Page, device: Page, count: number, timeoutMs: number) =>
  framesAdvance(viewer, count, timeoutMs).catch(async (err: Error) => {
    const state = await viewer.evaluate(`JSON.stringify(document.querySelector("#player")?.dataset ?? {})`);
    throw new Error(
      `${err.message}; viewer ${String(state)}; inbound ${JSON.stringify(await inboundVideo(viewer))}; device: ${await deviceLayers(device)}; server: ${await serverRepair(server)}`,
    );
  });

/** The width of the frames the viewer decodes now. */
const frameWidth = async (page: Page): Promise<number> => (await inboundVideo(page)).frameWidth;

test("a simulcast device: a small player gets a small layer, a large one the top layer, switching without a stall", { timeout: 90_000 }, (t) =>
  withPages(t, env(), async (pages) => {
    const e = env();
    const device = await pages.device("layers-cam", "Layers cam", "device", "", { simulcast: "1" });
    await devicePublishing(device);
    await waitFor(
      "the server to see three layers",
      async () => (e.server.logs.some((l) => l.includes("device simulcast") && l.includes("q,h,f")) ? true : undefined),
      {
        timeoutMs: 15_000,
      },
    );
    // The top layer is the camera's own size; the others a half and a quarter of it.
    const captured = Number(await device.evaluate(`document.querySelector("#preview").videoWidth`));
    t.diagnostic(`the device captures ${captured} px wide`);
    const viewer = await pages.viewer("layers-cam");
    await advancing(e.server, viewer, device, 10, 20_000);
    const seen: number[] = [];
    const big = await waitFor(
      "the top layer",
      async () => {
        const w = await frameWidth(viewer);
        seen.push(w);
        return w >= captured ? w : undefined;
      },
      { timeoutMs: 20_000 },
    ).catch(async (err: Error) => {
      throw new Error(`${err.message}; widths seen ${[...new Set(seen)].join(", ")}; device: ${await deviceLayers(device)}`);
    });

    const downBefore = await readMetric(e.server, "tessera_layer_switches_total", { direction: "down" });
    const before = await inboundVideo(viewer);
    await viewer.setViewportSize({ width: 420, height: 700 });
    const small = await waitFor(
      "a smaller layer for the small player",
      async () => {
        const w = await frameWidth(viewer);
        return w > 0 && w <= big / 2 ? w : undefined;
      },
      { timeoutMs: 20_000 },
    );
    await advancing(e.server, viewer, device, 10, 10_000);
    const mid = await inboundVideo(viewer);
    t.diagnostic(
      `top layer ${big} px wide; with a 420 px window ${small} px; ${mid.framesDecoded - before.framesDecoded} frames decoded across the switch, ${(mid.totalFreezesDuration - before.totalFreezesDuration).toFixed(2)} s frozen`,
    );
    assert.ok((await readMetric(e.server, "tessera_layer_switches_total", { direction: "down" })) > downBefore, "the switch is counted");
    assert.equal(mid.keyFramesDecoded > before.keyFramesDecoded, true, "the new layer started at a keyframe");
    // The server tells the page which layer it gets; the stats overlay shows it.
    const shown = await waitFor(
      "the page told of its lower layer",
      async () => {
        const r = await viewer.evaluate<[string | undefined, string | undefined, string | undefined]>(
          `[document.querySelector("#player").dataset.layer, document.querySelector("#stats").textContent, document.querySelector("#player").dataset.temporal]`,
        );
        return r[0] && r[0] !== "3/3" ? r : undefined;
      },
      { timeoutMs: 5000 },
    );
    t.diagnostic(`#player[data-layer] ${shown[0]}, [data-temporal] ${shown[2]}; overlay: ${shown[1]}`);
    assert.match(shown[1] ?? "", /layer\d of 3 · \d+×\d+/, "the overlay names the layer and its size");
    // The device page sends each layer in three temporal layers (L1T3), and the relay reads them: all forwarded here.
    assert.equal(shown[2], "3/3", "the layer comes in three temporal layers, all of them forwarded");

    await viewer.setViewportSize({ width: 1280, height: 800 });
    const back = await waitFor(
      "the top layer again",
      async () => {
        const w = await frameWidth(viewer);
        return w >= big ? w : undefined;
      },
      { timeoutMs: 20_000 },
    );
    await advancing(e.server, viewer, device, 10, 10_000);
    const end = await inboundVideo(viewer);
    t.diagnostic(`back to ${back} px; ${(end.totalFreezesDuration - before.totalFreezesDuration).toFixed(2)} s frozen over both switches`);
    assert.ok(end.framesDecoded > mid.framesDecoded, "the decoder kept going");
  }),
);

test("a device page publishing its screen sends the same three layers, and a viewer plays it", { timeout: 60_000 }, (t) =>
  withPages(t, env(), async (pages) => {
    const e = env();
    const device = await pages.device("layers-screen", "Layers screen", "device", "", { simulcast: "1", source: "screen" });
    await devicePublishing(device);
    await waitFor(
      "the server to see three layers of the screen",
      async () => (e.server.logs.some((l) => l.includes("device:layers-screen") && l.includes("device simulcast") && l.includes("q,h,f")) ? true : undefined),
      { timeoutMs: 15_000 },
    );
    // The server lists it as a screen, not a camera.
    const listed = (await (await fetch(new URL("api/devices", e.server.url))).json()) as { devices: Array<{ id: string; kind: string }> };
    assert.equal(listed.devices.find((d) => d.id === "layers-screen")?.kind, "screen");
    const viewer = await pages.viewer("layers-screen");
    const { width, height } = await advancing(e.server, viewer, device, 10, 20_000);
    t.diagnostic(`screen: the viewer plays ${width}x${height}; device: ${await deviceLayers(device)}`);
    assert.ok(width > 0 && height > 0);
  }),
);
