/** Recovery from a lost signaling socket: the server crashes and comes back on the same port. */
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import type { Browser } from "playwright-core";
import {
  deviceState,
  devicePublishing,
  framesAdvance,
  launchBrowser,
  probe,
  startServer,
  viewerState,
  waitFor,
  withPages,
  type Env,
  type TestServer,
} from "./harness.js";

let browser: Browser | undefined;
before(async () => {
  browser = await launchBrowser();
});
after(async () => {
  await browser?.close();
});

test("the device page and the viewer reconnect by themselves after the server restarts", { timeout: 60_000 }, async (t) => {
  if (!browser) throw new Error("no browser");
  let server: TestServer = await startServer({ args: ["--source", "none"] });
  const port = Number(new URL(server.url).port);
  const env: Env = {
    browser,
    get server() {
      return server;
    },
  };
  try {
    await withPages(t, env, async (pages) => {
      const device = await pages.device("cam-restart", "Restart cam");
      await devicePublishing(device);
      // WebRTC only: this is about the WebRTC path coming back; the automatic fallback has tests of its own.
      const viewer = await pages.viewer("cam-restart", "viewer");
      await framesAdvance(viewer, 20, 10_000);
      const viewerOrigin = await viewer.evaluate(() => performance.timeOrigin);
      const offersBefore = (await deviceState(device)).offers;

      await server.close("SIGKILL");
      await waitFor("the viewer to notice the lost socket", async () => (await viewer.getAttribute("body", "data-signaling")) === "reconnecting");
      // One honest state: the badge, the overlay and the control bar all say the server is gone.
      assert.equal(await viewer.textContent("#player-state"), "Server lost");
      assert.match((await viewer.textContent("#overlay")) ?? "", /^Lost the server/);
      assert.match((await viewer.textContent("#control-status")) ?? "", /^Lost the server/);
      assert.equal(await viewer.getAttribute("#control", "data-reachable"), "false");
      assert.equal(await viewer.isDisabled("#control-toggle"), true);
      const t0 = Date.now();
      server = await startServer({ port, args: ["--source", "none"] });
      await waitFor("the device to offer again", async () => (await deviceState(device)).offers > offersBefore, { timeoutMs: 15_000 });
      await devicePublishing(device);
      const mark = (await probe(viewer)).frames;
      await waitFor("the viewer to play again", async () => (await probe(viewer)).frames >= mark + 20, { timeoutMs: 25_000 }).catch(async (err: unknown) => {
        const state = {
          viewer: await viewerState(viewer),
          signaling: await viewer.getAttribute("body", "data-signaling"),
          deviceState: await viewer.getAttribute("#player", "data-device-state"),
          frames: (await probe(viewer)).frames,
        };
        t.diagnostic(`viewer at failure: ${JSON.stringify(state)}`);
        throw err;
      });
      t.diagnostic(`viewer playing again ${Date.now() - t0} ms after the server restarted`);
      assert.equal(await viewer.evaluate(() => performance.timeOrigin), viewerOrigin, "the viewer page was not reloaded");
      assert.equal(await viewer.getAttribute("body", "data-signaling"), "open");
      assert.equal(await viewer.getAttribute("#player", "data-connection-state"), "connected");
      await waitFor("the badge and the control bar back", async () =>
        (await viewer.textContent("#player-state")) === "Live" && (await viewer.getAttribute("#control", "data-reachable")) === "true" ? true : undefined,
      );
    });
  } finally {
    await server.close();
  }
});
