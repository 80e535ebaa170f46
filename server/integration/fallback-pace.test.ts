/**
 * The fallback stream adapts per viewer: two JPEG viewers of one moving
 * device, one that keeps up and one behind a simulated 40 kB/s link (it acks
 * each frame when its bytes would have crossed). The slow one's pacer lowers
 * its frame rate, then its quality tier (a second, shared stream at lower
 * JPEG quality); the fast one keeps the full rate and quality.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { parseMetrics, sumOf } from "../../bench/prom.js";
import { FallbackClient } from "../../e2e/lib/fallback-client.js";
import { waitFor } from "../../e2e/lib/signaling-client.js";
import { LOCAL_ACCOUNT } from "../app.js";
import { createLogger } from "../log.js";
import { TestDevice } from "../sources/test-device.js";
import { startServer, type Running } from "./fixture.js";

/** Frames per second a client received over the last `ms`. */
function recentFps(c: FallbackClient, ms: number): number {
  const since = performance.now() - ms;
  const ids = new Set(c.stripes.filter((s) => s.at >= since).map((s) => s.stripe.frameId));
  return (ids.size * 1000) / ms;
}

describe("fallback pacing per viewer", () => {
  let server: Running;
  let device: TestDevice;
  const clients: FallbackClient[] = [];

  before(async () => {
    server = await startServer();
    const entry = server.app.registry.ensure(LOCAL_ACCOUNT, "moving", "Moving", "test");
    device = new TestDevice(entry, server.app.metrics, createLogger("error"), { width: 640, height: 360, encoderThreads: 1 });
    device.start();
    await waitFor(() => entry.online, 10_000, "the device online");
  });

  after(async () => {
    for (const c of clients) c.close();
    device?.close();
    await server?.stop();
  });

  test("a viewer behind a slow link drops its frame rate, then its quality; the other keeps both", { timeout: 60_000 }, async (t) => {
    const fast = new FallbackClient(`${server.wsUrl}/stream/moving?codec=jpeg`);
    clients.push(fast);
    await waitFor(() => fast.frames().length >= 20, 15_000, "the fast viewer playing");
    const mark = performance.now();
    await waitFor(() => fast.stripes.some((s) => s.at >= mark + 3000), 10_000, "3 s of frames at the fast viewer alone");
    const alone = recentFps(fast, 3000);

    const slow = new FallbackClient(`${server.wsUrl}/stream/moving?codec=jpeg`);
    clients.push(slow);
    slow.simulateLink(40_000);
    const joined = performance.now();
    const lowered = await waitFor(() => slow.of("pace").find((p) => Number(p.tier) >= 1), 30_000, "the slow viewer on a lower quality tier");
    const loweredAfter = performance.now() - joined;
    assert.ok(Number(lowered.fps) <= 5, `at the frame-rate floor first (${String(lowered.fps)} fps)`);
    // Its stripes are smaller than the same stripes at the top tier (the fast viewer's, over the same time).
    const tierAt = performance.now();
    await waitFor(() => slow.stripes.filter((s) => s.at > tierAt).length >= 30, 15_000, "30 stripes on the lower tier");
    const bytesPerStripe = (c: FallbackClient) => {
      const part = c.stripes.filter((s) => s.at >= tierAt);
      return part.reduce((n, s) => n + s.bytes, 0) / part.length;
    };
    const low = bytesPerStripe(slow);
    const top = bytesPerStripe(fast);
    const withSlow = recentFps(fast, 3000);
    t.diagnostic(
      `slow viewer: tier ${String(lowered.tier)} after ${loweredAfter.toFixed(0)} ms, ${low.toFixed(0)} bytes per stripe against ${top.toFixed(0)} at the top tier; ` +
        `fast viewer ${alone.toFixed(1)} fps alone, ${withSlow.toFixed(1)} fps beside it; pace messages to it: ${fast.of("pace").length}`,
    );
    assert.ok(low < top * 0.8, "smaller stripes on the lower tier");
    assert.equal(fast.of("pace").filter((p) => Number(p.tier) > 0).length, 0, "the fast viewer keeps the top quality");
    assert.ok(withSlow >= alone * 0.6, "the fast viewer keeps its frame rate (within what the second encoder costs this machine)");
    const metrics = parseMetrics(await (await fetch(`${server.httpUrl}/metrics`)).text());
    assert.ok(sumOf(metrics, "tessera_fallback_tier_switches_total", { direction: "down" }) >= 1);
  });
});
