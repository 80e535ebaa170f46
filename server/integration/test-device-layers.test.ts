/**
 * Layers a server-side source encodes on demand: the test device with
 * simulcast offers a quarter- and a half-size layer, each encoded only while
 * a viewer takes it. Two werift viewers: one shows the picture small and
 * gets the small layer, started for it; the other keeps the full picture;
 * the small layer stops after its last viewer. A host display (Xvfb)
 * offers the same.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { parseMetrics, sumOf } from "../../bench/prom.js";
import { waitFor } from "../../e2e/lib/signaling-client.js";
import { WeriftViewer } from "../../e2e/lib/werift-peers.js";
import { LOCAL_ACCOUNT } from "../app.js";
import type { LayerState } from "../protocol/messages.js";
import { createLogger } from "../log.js";
import { TestDevice } from "../sources/test-device.js";
import { startXvfb, type TestDisplay } from "../../e2e/lib/xvfb.js";
import { startServer, type Running } from "./fixture.js";

describe("a test device's layers, encoded on demand", () => {
  let server: Running;
  let device: TestDevice;

  before(async () => {
    server = await startServer();
    const entry = server.app.registry.ensure(LOCAL_ACCOUNT, "layered", "Layered", "test");
    device = new TestDevice(entry, server.app.metrics, createLogger("error"), { simulcast: true, width: 640, height: 360, encoderThreads: 1 });
    device.start();
    await waitFor(() => entry.online, 10_000, "the test device online");
  });

  after(async () => {
    device?.close();
    await server?.stop();
  });

  test("a small viewer gets the quarter layer, started for it; a full-size one keeps the top; the layer stops after its viewer", async (t) => {
    assert.deepEqual(device.runningLayers, [], "nothing is encoded before a viewer needs it, not even the full picture");
    const small = await WeriftViewer.connect(server.wsUrl);
    const full = await WeriftViewer.connect(server.wsUrl);
    try {
      const told: LayerState[] = [];
      small.signaling.onMessage((m) => {
        if (m.type === "layer") told.push(m);
      });
      small.watch("layered");
      full.watch("layered");
      const a = await waitFor(() => small.streams.get("layered"), 5000, "an offer to the small viewer");
      const b = await waitFor(() => full.streams.get("layered"), 5000, "an offer to the full viewer");
      await waitFor(() => a.keyframeSize && b.keyframeSize, 10_000, "a keyframe at each viewer");
      assert.deepEqual(a.keyframeSize, { width: 640, height: 360 }, "every viewer starts on the top layer");

      const viewSent = performance.now();
      small.signaling.send({ type: "view", deviceId: "layered", width: 150, height: 84 });
      await waitFor(() => a.keyframeSize?.width === 160, 10_000, "the small viewer on the 160×90 layer");
      const down = performance.now() - viewSent;
      assert.deepEqual(a.keyframeSize, { width: 160, height: 90 });
      assert.deepEqual(device.runningLayers, ["q", "f"], "only the layers viewers take are encoded");
      // The viewer is told which layer it gets (its stats overlay shows it).
      const lowest = await waitFor(() => told.find((m) => m.layer === 0), 5000, "a `layer` message naming the lowest layer");
      assert.deepEqual(
        { ...lowest, estimate: undefined },
        { type: "layer", deviceId: "layered", layer: 0, layers: 3, width: 160, height: 90, estimate: undefined },
      );
      assert.equal(told[0].layer, 2, "first told the top layer");

      // Sequence numbers stay continuous for the viewer across the switch (no jump beyond loopback reordering).
      const seqs = a.videoSeqs;
      const jumps = seqs.slice(1).filter((s, i) => (s - seqs[i] + 65536) % 65536 > 20);
      assert.deepEqual(jumps, [], "no gap in the small viewer's sequence numbers");

      // The full viewer never left the top layer.
      const keyframesAt = b.videoPackets;
      await waitFor(() => b.videoPackets > keyframesAt + 50, 5000, "the full viewer playing on");
      assert.deepEqual(b.keyframeSize, { width: 640, height: 360 });

      // Shown larger: it climbs to the half layer, which starts, and the quarter one stops.
      small.signaling.send({ type: "view", deviceId: "layered", width: 320, height: 180 });
      await waitFor(() => a.keyframeSize?.width === 320, 10_000, "the viewer on the 320×180 layer");
      await waitFor(() => device.runningLayers.join() === "h,f", 5000, "the quarter layer stopped, the half one running");

      const metrics = parseMetrics(await (await fetch(`${server.httpUrl}/metrics`)).text());
      assert.ok(sumOf(metrics, "tessera_layer_switches_total", { direction: "down" }) >= 1, "the move down is counted");
      assert.ok(sumOf(metrics, "tessera_layer_switches_total", { direction: "up" }) >= 1, "the move up is counted");

      const left = performance.now();
      await small.close();
      await waitFor(() => device.runningLayers.join() === "f", 5000, "no lower layer encoded after its last viewer left");
      t.diagnostic(`on the quarter layer ${down.toFixed(0)} ms after its view; layer stopped ${(performance.now() - left).toFixed(0)} ms after it left`);
      await full.close();
      await waitFor(() => device.runningLayers.length === 0, 5000, "the full picture stopped after its last viewer left");
    } finally {
      await small.close();
      await full.close();
    }
  });

  test("a viewer's layer is chosen once its media flows, though its data channels never come up (werift then never calls the connection connected)", async () => {
    const viewer = await WeriftViewer.connect(server.wsUrl, { silentSctp: true });
    try {
      viewer.watch("layered");
      const s = await waitFor(() => viewer.streams.get("layered"), 5000, "an offer");
      await waitFor(() => s.keyframeSize, 10_000, "a keyframe");
      assert.deepEqual(s.keyframeSize, { width: 640, height: 360 }, "on the top layer first");
      viewer.signaling.send({ type: "view", deviceId: "layered", width: 150, height: 84 });
      await waitFor(() => s.keyframeSize?.width === 160, 10_000, "the 160×90 layer");
      assert.equal(s.input, undefined, "the input channel never opened");
      assert.notEqual(s.pc.connectionState, "connected", "nor did the connection count as connected");
    } finally {
      await viewer.close();
    }
  });
});

describe("a host display's layers, encoded on demand", () => {
  let display: TestDisplay;
  let server: Running;

  before(async () => {
    display = await startXvfb({ width: 640, height: 360 });
    server = await startServer({ source: [{ kind: "x11", display: display.display, deviceId: "screen" }] });
    await waitFor(() => server.app.registry.get(LOCAL_ACCOUNT, "screen")?.online, 15_000, "the display online");
  });

  after(async () => {
    await server?.stop();
    await display?.close();
  });

  test("a viewer showing the display small gets its quarter layer, started for it, even on a still screen", async (t) => {
    const viewer = await WeriftViewer.connect(server.wsUrl);
    try {
      const told: LayerState[] = [];
      viewer.signaling.onMessage((m) => {
        if (m.type === "layer") told.push(m);
      });
      viewer.watch("screen");
      const s = await waitFor(() => viewer.streams.get("screen"), 5000, "an offer");
      await waitFor(() => s.keyframeSize, 10_000, "a keyframe");
      assert.deepEqual(s.keyframeSize, { width: 640, height: 360 });
      const sent = performance.now();
      viewer.signaling.send({ type: "view", deviceId: "screen", width: 150, height: 84 });
      await waitFor(() => s.keyframeSize?.width === 160, 10_000, "the 160×90 layer");
      t.diagnostic(`on the quarter layer ${(performance.now() - sent).toFixed(0)} ms after its view`);
      assert.deepEqual(s.keyframeSize, { width: 160, height: 90 });
      await waitFor(() => told.find((m) => m.layer === 0 && m.layers === 3), 5000, "told of the lowest of three layers");
    } finally {
      await viewer.close();
    }
  });
});
