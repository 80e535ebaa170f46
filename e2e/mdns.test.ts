/**
 * A viewer as most are out there: a page served from a real address (not
 * loopback, where Chromium shows its addresses) and without camera access
 * hides its host addresses behind mDNS names (`<uuid>.local`). The server
 * never passes those to werift, which would look each up by multicast DNS
 * (an answer only the browser's own link can give) for up to 10 s, and
 * hold the start of ICE that long when the candidate came before the answer
 * was applied (a race this test does not force). The browser's checks reach
 * the server from its real address, and the picture plays. Server and
 * browser run in two network namespaces of the test's own, as two hosts;
 * every other test turns Chromium's mDNS names off.
 */
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import type { Browser } from "playwright-core";
import { framesAdvance, launchBrowser, startServer, viewerState, withPages, type TestServer } from "./harness.js";
import { createNetnsPair, type Netns } from "./lib/netns.js";

let pair: { server: Netns; client: Netns; destroy(): Promise<void> } | undefined;
let server: TestServer | undefined;
let browser: Browser | undefined;

before(async () => {
  pair = await createNetnsPair("mdns");
  const ns = pair.server;
  // A namespace only this test reaches: no sign-in off loopback is fine here.
  server = await startServer({ wrap: [...ns.exec], iceHost: ns.address, args: ["--host", ns.address, "--insecure-no-auth"] });
  browser = await launchBrowser(pair.client.exec, ["--enable-features=WebRtcHideLocalIpsWithMdns"]);
});

after(async () => {
  await browser?.close().catch(() => undefined);
  await server?.close();
  await pair?.destroy();
});

test("a viewer whose host candidates are mDNS names connects without waiting for them", { timeout: 60_000 }, async (t) => {
  await withPages(t, { server: server!, browser: browser! }, async (pages) => {
    const viewer = await pages.viewer("test");
    await framesAdvance(viewer, 5, 20_000);
    const { timeline } = await viewerState(viewer);
    // What the page gathered and trickled, as its local description lists it.
    const local = await viewer.evaluate(() => {
      const pc = (globalThis as unknown as { tessera: { pc: { localDescription: { sdp: string } | null } } }).tessera.pc;
      return (pc.localDescription?.sdp ?? "")
        .split(/\r?\n/)
        .filter((l) => l.startsWith("a=candidate:"))
        .map((l) => l.split(" ").slice(4, 8).join(" "));
    });
    const connectMs = timeline?.connectedAt != null && timeline.answerSentAt != null ? timeline.connectedAt - timeline.answerSentAt : NaN;
    t.diagnostic(`the viewer's candidates: ${local.join(", ")}; connected ${connectMs.toFixed(0)} ms after its answer`);
    assert.ok(
      local.some((c) => c.split(" ")[0].endsWith(".local")),
      "the viewer page gave mDNS names for its host candidates (else this test shows nothing)",
    );
    // werift's mDNS lookup gives up after 10 s; a connection held by it would take that long.
    assert.ok(connectMs < 5000, `connected ${connectMs.toFixed(0)} ms after the answer`);
  });
});
