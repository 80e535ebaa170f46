/**
 * One of two viewers behind a thin link: the server, the simulcast device
 * page and viewer B run in one network namespace, viewer A in another
 * joined by a veth pair (e2e/lib/netns.ts); a token bucket on the server's
 * side of the pair holds everything towards A to 400 kbit/s. A's browser
 * cuts its bandwidth estimate (REMB) and the relay moves A to a lower layer
 * while B keeps the top one; once the limit is lifted A climbs back.
 */
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import type { Browser, Page } from "playwright-core";
import { devicePublishing, framesAdvance, launchBrowser, startServer, waitFor, withPages, type TestServer } from "./harness.js";
import { inboundVideo } from "./lib/inbound-video.js";
import { createNetnsPair, limitLink, type Netns } from "./lib/netns.js";

let pair: { server: Netns; client: Netns; destroy(): Promise<void> } | undefined;
let server: TestServer | undefined;
let near: Browser | undefined;
let far: Browser | undefined;

before(async () => {
  pair = await createNetnsPair("bw");
  const ns = pair.server;
  // A namespace only this test reaches: no sign-in off loopback is fine here.
  server = await startServer({ wrap: [...ns.exec], iceHost: ns.address, args: ["--host", ns.address, "--insecure-no-auth"] });
  // The device page's camera needs a secure context: the namespace's address is not loopback.
  const origin = new URL(server.url).origin;
  [near, far] = await Promise.all([launchBrowser(ns.exec, [`--unsafely-treat-insecure-origin-as-secure=${origin}`]), launchBrowser(pair.client.exec)]);
});

after(async () => {
  await near?.close().catch(() => undefined);
  await far?.close().catch(() => undefined);
  await server?.close();
  await pair?.destroy();
});

const frameWidth = async (page: Page): Promise<number> => (await inboundVideo(page)).frameWidth;

test(
  "a 400 kbit/s link to one of two viewers: it drops to a lower layer, the other keeps the top one, and it climbs back once the link is free",
  { timeout: 150_000 },
  (t) =>
    withPages(t, { server: server!, browser: near! }, (nearPages) =>
      withPages(t, { server: server!, browser: far! }, async (farPages) => {
        const { server: ns } = pair!;
        const device = await nearPages.device("bw-cam", "Bottleneck cam", "device", "", { simulcast: "1" });
        await devicePublishing(device);
        const top = Number(await device.evaluate(`document.querySelector("#preview").videoWidth`));
        const b = await nearPages.viewer("bw-cam", "viewer-near");
        const a = await farPages.viewer("bw-cam", "viewer-far");
        await Promise.all([framesAdvance(a, 10, 20_000), framesAdvance(b, 10, 20_000)]);
        const onTop = async (p: Page) => ((await frameWidth(p)) >= top ? true : undefined);
        await waitFor("both viewers on the top layer", async () => ((await onTop(a)) && (await onTop(b)) ? true : undefined), { timeoutMs: 30_000 });

        limitLink(ns, "va", 400);
        try {
          const t0 = Date.now();
          const low = await waitFor(
            "the far viewer on a lower layer",
            async () => {
              const w = await frameWidth(a);
              return w > 0 && w < top ? w : undefined;
            },
            { timeoutMs: 30_000, intervalMs: 250 },
          );
          const droppedMs = Date.now() - t0;
          await framesAdvance(a, 5, 15_000);
          t.diagnostic(`400 kbit/s to A: A on ${low} px after ${droppedMs} ms; B on ${await frameWidth(b)} px`);
          assert.equal(await frameWidth(b), top, "the near viewer keeps the top layer");
        } finally {
          limitLink(ns, "va", 0);
        }
        const t1 = Date.now();
        await waitFor("the far viewer back on the top layer", () => onTop(a), { timeoutMs: 60_000, intervalMs: 250 });
        t.diagnostic(`limit lifted: A back on ${top} px after ${Date.now() - t1} ms`);
        await framesAdvance(a, 10, 15_000);
      }),
    ),
);
