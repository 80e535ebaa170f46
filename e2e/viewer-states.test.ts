/**
 * The viewer's honest state in Chromium: a device that goes away greys the
 * control out and says so everywhere; on the WebSocket stream the page says
 * why and offers WebRTC again; mute and volume show only with sound; the
 * stats overlay has a switch; the address keeps the transport from device
 * to device; while WebRTC connects the device's latest picture stands in.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { devicePublishing, framesAdvance, useEnv, waitFor, withPages } from "./harness.js";
import { screenshot } from "./lib/screenshots.js";
import { testJpeg } from "./lib/jpeg-fixture.js";

const env = useEnv();

test("a device that goes away: the badge, the overlay and the control bar all say so, and control comes back with it", { timeout: 60_000 }, (t) =>
  withPages(t, env(), async (pages) => {
    const device = await pages.device("gone-cam", "Gone cam");
    await devicePublishing(device);
    const viewer = await pages.viewer("gone-cam");
    await framesAdvance(viewer, 5, 15_000);
    await viewer.click("#control-toggle");
    await viewer.waitForSelector('#player[data-control="self"]', { timeout: 10_000 });
    assert.equal(await viewer.textContent("#control-status"), "You control this device");
    assert.equal(await viewer.textContent("#player-state"), "Live");
    assert.equal(await viewer.isVisible("#talk"), true);

    await device.close();
    await waitFor("the viewer to see the device gone", async () => (await viewer.getAttribute("body", "data-state")) === "offline");
    assert.equal(await viewer.textContent("#player-state"), "Waiting");
    assert.match((await viewer.textContent("#overlay")) ?? "", /^Waiting for Gone cam…/);
    const status = (await viewer.textContent("#control-status")) ?? "";
    assert.match(status, /^The device is offline/, "never 'You control this device' while nothing reaches it");
    assert.equal(await viewer.getAttribute("#control", "data-reachable"), "false");
    assert.equal(await viewer.isDisabled("#control-toggle"), true);
    assert.equal(await viewer.getAttribute("#control-toggle", "title"), status, "the disabled button says why");
    assert.equal(await viewer.isHidden("#talk"), true);
    assert.doesNotMatch((await viewer.textContent("#overlay")) ?? "", /\((not_found|offline|[a-z_]+)\)$/, "no internal codes for people");
    await screenshot(viewer, "device-gone");

    const again = await pages.device("gone-cam", "Gone cam", "device-2");
    await devicePublishing(again);
    await waitFor("the picture and control back", async () =>
      (await viewer.getAttribute("body", "data-state")) === "connected" && (await viewer.getAttribute("#control", "data-reachable")) === "true"
        ? true
        : undefined,
    );
    await framesAdvance(viewer, 5, 15_000);
  }),
);

test("on the WebSocket stream the page says why and tries WebRTC again on request; sound controls follow the sound", { timeout: 60_000 }, (t) =>
  withPages(t, env(), async (pages) => {
    const other = await pages.device("states-cam", "States cam");
    await devicePublishing(other);
    const viewer = await pages.viewer("test", "viewer", { transport: "ws", codec: "jpeg" });
    await waitFor("the fallback stream", async () => (await viewer.getAttribute("#player", "data-transport")) === "ws_jpeg");
    await viewer.waitForSelector("#transport-note:not([hidden])", { timeout: 10_000 });
    assert.equal(await viewer.textContent("#transport-note"), "WebSocket stream: as the address asks");
    assert.equal(await viewer.isHidden("#audio-controls"), true, "no sound on the WebSocket stream, so no mute or volume");
    await viewer.waitForSelector('#player[data-connection-state="connected"]', { timeout: 10_000 });
    await screenshot(viewer, "websocket-stream");

    await viewer.click("#retry-webrtc");
    await waitFor("WebRTC again", async () => (await viewer.getAttribute("#player", "data-transport")) === "webrtc");
    await framesAdvance(viewer, 10, 15_000);
    assert.equal(await viewer.isHidden("#transport-note"), true);
    assert.equal(await viewer.isHidden("#retry-webrtc"), true);
    // The test pattern has a 440 Hz tone: mute and volume appear with it.
    await viewer.waitForSelector("#audio-controls:not([hidden])", { timeout: 10_000 });
    await viewer.click("#unmute");
    assert.equal(
      await viewer.evaluate(
        () => (globalThis as unknown as { document: { querySelector(s: string): { muted: boolean } } }).document.querySelector("#video").muted,
      ),
      false,
    );

    // The stats overlay switches off and on, and the playout delay is among its rows.
    await waitFor("a delay row", async () => /delay\d+ ms/.test((await viewer.textContent("#stats")) ?? ""));
    const before = await viewer.getAttribute("#player", "data-stats");
    await viewer.click("#stats-toggle");
    const after = await viewer.getAttribute("#player", "data-stats");
    assert.notEqual(after, before);
    assert.equal(await viewer.isVisible("#stats"), after === "on");
    t.diagnostic(`stats overlay ${before} → ${after}; ${(await viewer.textContent("#stats"))?.replace(/\s+/g, " ")}`);

    // Another device from the list: the address keeps the transport and codec asked for.
    await viewer.click('#devices button[data-device-id="states-cam"]');
    await waitFor("the other device", async () => (await viewer.getAttribute("#player", "data-device-id")) === "states-cam");
    const params = new URL(viewer.url()).searchParams;
    assert.deepEqual([params.get("device"), params.get("transport"), params.get("codec")], ["states-cam", "ws", "jpeg"]);
  }),
);

test("an offline device can be removed from the list by its account, and comes back when it publishes", { timeout: 60_000 }, (t) =>
  withPages(t, env(), async (pages) => {
    const device = await pages.device("forget-cam", "Forget cam");
    await devicePublishing(device);
    await device.close();
    const viewer = await pages.viewer(undefined, "list");
    const row = '#devices button[data-device-id="forget-cam"]';
    await viewer.waitForSelector(`${row}[data-online="false"]`, { timeout: 10_000 });
    assert.equal(await viewer.isVisible('#devices button[data-forget="test"]'), false, "an online device has no remove button");
    await viewer.click('#devices button[data-forget="forget-cam"]');
    await viewer.waitForSelector(row, { state: "detached", timeout: 10_000 });
    t.diagnostic("removed from the list");
    const again = await pages.device("forget-cam", "Forget cam", "device-again");
    await devicePublishing(again);
    await viewer.waitForSelector(`${row}[data-online="true"]`, { timeout: 10_000 });
  }),
);

test("while WebRTC connects, the device's latest picture stands in; the first frame takes its place", { timeout: 60_000 }, (t) =>
  withPages(t, env(), async (pages) => {
    const base = env().server.url;
    // A frame device with one red picture (a camera app pushing JPEGs).
    const push = () =>
      fetch(`${base}api/devices/still-cam/frames`, { method: "POST", headers: { "Content-Type": "image/jpeg" }, body: testJpeg(320, 240, "0xffff0000") });
    assert.equal((await push()).status, 201);
    // This viewer's WebRTC never connects: its answer is never applied.
    const stuck = await pages.viewer(undefined, "stuck");
    await stuck.addInitScript("RTCPeerConnection.prototype.setRemoteDescription = () => new Promise(() => {});");
    await stuck.goto(`${base}?device=still-cam&transport=webrtc`);
    await stuck.waitForSelector('#player[data-still="true"]', { timeout: 10_000 });
    assert.equal(await stuck.textContent("#player-state"), "Connecting");
    const colour = await stuck.evaluate<number[]>(`(async () => {
      const img = new Image();
      img.src = document.querySelector("#video").poster;
      await img.decode();
      const c = document.createElement("canvas");
      c.width = img.naturalWidth; c.height = img.naturalHeight;
      const g = c.getContext("2d");
      g.drawImage(img, 0, 0);
      return [...g.getImageData(160, 120, 1, 1).data.slice(0, 3), img.naturalWidth, img.naturalHeight];
    })()`);
    t.diagnostic(`the still: rgb(${colour.slice(0, 3).join(", ")}), ${colour[3]}x${colour[4]}`);
    assert.deepEqual(colour.slice(3), [320, 240]);
    assert.ok(colour[0] > 200 && colour[1] < 60 && colour[2] < 60, `red: ${colour.slice(0, 3)}`);
    await screenshot(stuck, "still-while-connecting");

    // A viewer whose WebRTC connects drops the still at the first frame.
    const pushing = setInterval(() => void push().catch(() => undefined), 500);
    try {
      const viewer = await pages.viewer("still-cam", "plays");
      await framesAdvance(viewer, 2, 15_000);
      await waitFor("the still gone once video plays", async () => (await viewer.getAttribute("#player", "data-still")) === null);
      assert.equal(await viewer.getAttribute("#video", "poster"), null);
      // Another device: the last one's still goes (the new one's may come).
      const red = await stuck.getAttribute("#video", "poster");
      await stuck.click('#devices button[data-device-id="test"]');
      await waitFor("the red still gone", async () => (await stuck.getAttribute("#video", "poster")) !== red);
      assert.equal(await stuck.evaluate(`fetch(${JSON.stringify(red)}).then(() => "kept", () => "revoked")`), "revoked", "its object URL was released");
    } finally {
      clearInterval(pushing);
    }
  }),
);
