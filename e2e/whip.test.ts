/**
 * Interop of Tessera's WHIP ingest and WHEP playback with client libraries
 * Tessera did not write, in real Chromium: @eyevinn/whip-web-client
 * publishes the fake camera, medooze's whip-whep WHEPClient plays the
 * built-in test device. The libraries run in an e2e-only page
 * (e2e/pages/interop.ts, bundled to dist/e2e-pages) served from another
 * origin than the Tessera server, so their requests also go through CORS;
 * one WHIP test serves the same page on the server's own origin, where the
 * WHIP library takes its trickle-ICE path. The other origin is on the
 * server's --allowed-origins: with --auth none no other page may call.
 */
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { extname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { after, test, type TestContext } from "node:test";
import type { Page } from "playwright-core";
import type { Exchange, InteropApi } from "./interop-api.js";
import { framesAdvance, probe, useEnv, waitFor, withPages, type Env, type Pages } from "./harness.js";
import { installProbe } from "./probes.js";

const PAGES_DIR = fileURLToPath(new URL("../e2e-pages/", import.meta.url));
const TYPES: Record<string, string> = { ".html": "text/html", ".js": "text/javascript", ".map": "application/json" };

let pagesUrl = "";
let pagesServer: Server | undefined;

/** A static server for dist/e2e-pages on its own loopback origin (not the Tessera server's); its origin. */
async function startPagesServer(): Promise<string> {
  pagesServer = createServer((req, res) => {
    const name = new URL(req.url ?? "/", "http://x").pathname.slice(1);
    if (!/^[\w.-]+$/.test(name)) return void res.writeHead(404).end();
    readFile(join(PAGES_DIR, name)).then(
      (body) => res.writeHead(200, { "Content-Type": TYPES[extname(name)] ?? "application/octet-stream" }).end(body),
      () => res.writeHead(404).end(),
    );
  });
  await new Promise<void>((resolve) => pagesServer!.listen(0, "127.0.0.1", resolve));
  pagesUrl = `http://127.0.0.1:${(pagesServer.address() as AddressInfo).port}/`;
  return new URL(pagesUrl).origin;
}
// The pages' origin is the one --allowed-origins lets in.
const env = useEnv(async () => ["--allowed-origins", await startPagesServer()]);
after(async () => {
  pagesServer?.closeAllConnections();
  await new Promise((resolve) => pagesServer?.close(resolve));
});

interface DeviceRow {
  id: string;
  online: boolean;
  viewers: number;
}
async function device(e: Env, id: string): Promise<DeviceRow | undefined> {
  const res = await fetch(`${e.server.url}api/devices`);
  return ((await res.json()) as { devices: DeviceRow[] }).devices.find((d) => d.id === id);
}

/**
 * Opens the interop page in its own browser context (closed through `closers`), with the frame
 * probe on #whep: from the test's static server, or with `sameOrigin` on the Tessera server's origin.
 */
async function interopPage(e: Env, closers: Array<() => Promise<unknown>>, consoleLines: string[], sameOrigin: boolean): Promise<Page> {
  const context = await e.browser.newContext();
  closers.push(() => context.close().catch(() => undefined));
  const base = sameOrigin ? `${e.server.url}e2e-pages/` : pagesUrl;
  if (sameOrigin) {
    // The same files, on the Tessera server's origin (Playwright answers these URLs; the server never sees them).
    await context.route(`${base}*`, (route) => route.fulfill({ path: join(PAGES_DIR, new URL(route.request().url()).pathname.split("/").pop()!) }));
  }
  const page = await context.newPage();
  page.on("console", (m) => consoleLines.push(`[interop] ${m.type()}: ${m.text()}`));
  page.on("pageerror", (err) => consoleLines.push(`[interop] pageerror: ${err.message}`));
  await page.addInitScript(installProbe, { video: "#whep", watch: [], attributes: [] });
  await page.goto(`${base}interop.html`);
  await page.waitForFunction(() => "interop" in globalThis);
  return page;
}

type InteropWindow = { interop: InteropApi };
const exchanges = (page: Page): Promise<Exchange[]> => page.evaluate(() => (globalThis as unknown as InteropWindow).interop.exchanges());
const describe = (xs: Exchange[]) => xs.map((x) => `${x.method} ${new URL(x.url).pathname} → ${x.status ?? x.error}`).join(", ");

/** Like withPages, plus the interop page's context and console. */
async function withInterop(t: TestContext, body: (e: Env, pages: Pages, open: (sameOrigin?: boolean) => Promise<Page>) => Promise<void>): Promise<void> {
  const e = env();
  const closers: Array<() => Promise<unknown>> = [];
  const consoleLines: string[] = [];
  try {
    await withPages(t, e, (pages) => body(e, pages, (sameOrigin = false) => interopPage(e, closers, consoleLines, sameOrigin)));
  } catch (err) {
    for (const line of consoleLines.slice(-60)) t.diagnostic(line);
    throw err;
  } finally {
    for (const close of closers) await close();
  }
}

/**
 * Publishes with @eyevinn/whip-web-client from the interop page (on its own
 * origin or the server's), plays the device in a Tessera viewer, ends it with
 * the library's destroy(); returns what the library sent.
 */
async function eyevinnPublishes(t: TestContext, e: Env, pages: Pages, client: Page, deviceId: string): Promise<Exchange[]> {
  const endpoint = `${e.server.url}whip/${deviceId}`;
  await client.evaluate((url) => (globalThis as unknown as InteropWindow).interop.whipStart(url), endpoint);
  const published = await waitFor(
    "the WHIP client's connection",
    async () => {
      const s = await client.evaluate(() => (globalThis as unknown as InteropWindow).interop.whipState());
      return s.connection === "connected" && s.framesEncoded > 0 ? s : undefined;
    },
    { timeoutMs: 10_000 },
  );
  t.diagnostic(`WHIP client: ICE ${published.ice}, ${published.framesEncoded} frames encoded`);
  await waitFor(`${deviceId} online in /api/devices`, async () => (await device(e, deviceId))?.online);

  // A Tessera viewer plays it.
  const viewer = await pages.viewer(deviceId);
  const { ms, width, height } = await framesAdvance(viewer, 30, 10_000);
  t.diagnostic(`viewer: 30 frames in ${ms} ms, ${width}x${height}`);
  assert.ok(width > 0 && height > 0);

  // destroy() DELETEs the resource; the device goes offline.
  await client.evaluate(() => (globalThis as unknown as InteropWindow).interop.whipStop());
  const sent = await exchanges(client);
  t.diagnostic(`exchanges: ${describe(sent)}`);
  const post = sent.find((x) => x.method === "POST");
  assert.equal(post?.status, 201, "the offer was answered with 201 Created");
  assert.match(post?.location ?? "", new RegExp(`^/whip/${deviceId}/[\\w-]+$`), "the library read Location");
  const del = sent.find((x) => x.method === "DELETE");
  assert.equal(del?.status, 200, "DELETE of the session resource");
  assert.equal(new URL(del?.url ?? "").pathname, post?.location, "DELETE went to the Location");
  await waitFor(`${deviceId} offline in /api/devices`, async () => (await device(e, deviceId))?.online === false);
  await waitFor("the viewer to show the device offline", async () => (await viewer.getAttribute("#player", "data-device-state")) === "offline");
  assert.deepEqual(await client.evaluate(() => (globalThis as unknown as InteropWindow).interop.asyncErrors()), []);
  return sent;
}

test("@eyevinn/whip-web-client on another origin publishes over WHIP (no trickle: CORS hides Access-Control-Allow-Methods from it)", { timeout: 30_000 }, (t) =>
  withInterop(t, async (e, pages, open) => {
    const sent = await eyevinnPublishes(t, e, pages, await open(), "interop-cam");
    // The library decides on trickle from OPTIONS' Access-Control-Allow-Methods, which a cross-origin
    // response does not expose: it waits for gathering (its 2 s timeout) and sends every candidate in the offer.
    assert.equal(sent.find((x) => x.method === "OPTIONS")?.status, 204);
    assert.match(sent.find((x) => x.method === "POST")?.body ?? "", /a=candidate:\S+ 1 udp \d+ 127\.0\.0\.1 /, "the offer carries the loopback candidate");
    assert.equal(sent.filter((x) => x.method === "PATCH").length, 0);
  }),
);

test("@eyevinn/whip-web-client on the server's origin publishes with trickle ICE (PATCH answered 204)", { timeout: 30_000 }, (t) =>
  withInterop(t, async (e, pages, open) => {
    const sent = await eyevinnPublishes(t, e, pages, await open(true), "interop-cam2");
    assert.doesNotMatch(sent.find((x) => x.method === "POST")?.body ?? "", /a=candidate:/, "the offer went before gathering");
    const patches = sent.filter((x) => x.method === "PATCH");
    assert.ok(patches.length >= 1, "the library trickled");
    for (const patch of patches) {
      // The library sends its ETag in an `ETag` request header (not If-Match) and its candidates with component 0; Tessera takes both.
      assert.equal(patch.status, 204, `PATCH ${JSON.stringify(patch.body)}`);
      assert.equal(patch.headers["content-type"], "application/trickle-ice-sdpfrag");
    }
  }),
);

test(
  "medooze whip-whep's WHEPClient plays the built-in test device from POST /whep/test, restarts ICE over PATCH and keeps playing; stop() ends the session",
  { timeout: 30_000 },
  (t) =>
    withInterop(t, async (e, _pages, open) => {
      const player = await open();
      const before = (await device(e, "test"))?.viewers ?? 0;
      await player.evaluate((url) => (globalThis as unknown as InteropWindow).interop.whepStart(url), `${e.server.url}whep/test`);
      const { ms, width, height } = await framesAdvance(player, 30, 10_000);
      t.diagnostic(`WHEP player: 30 frames in ${ms} ms, ${width}x${height}`);
      assert.ok(width > 0 && height > 0);
      const state = await player.evaluate(() => (globalThis as unknown as InteropWindow).interop.whepState());
      assert.equal(state.connection, "connected");
      assert.equal(state.videoTracks, 1);
      assert.equal(state.audioTracks, 1);
      assert.equal((await device(e, "test"))?.viewers, before + 1, "the player counts as a viewer");
      await waitFor(
        "the video's currentTime to advance by 0.5 s",
        async () => (await player.evaluate(() => (globalThis as unknown as InteropWindow).interop.whepState())).currentTime > state.currentTime + 0.5,
      );

      // An ICE restart the library's way: PATCH with new credentials (answered 200 with ours), then its candidates trickle.
      const playing = await player.evaluate(() => (globalThis as unknown as InteropWindow).interop.whepState());
      await player.evaluate(() => (globalThis as unknown as InteropWindow).interop.whepRestart());
      const restarted = await waitFor("a new server ufrag and ICE connected again", async () => {
        const s = await player.evaluate(() => (globalThis as unknown as InteropWindow).interop.whepState());
        return s.remoteUfrag !== playing.remoteUfrag && (s.ice === "connected" || s.ice === "completed") ? s : undefined;
      });
      await waitFor(
        "the video's currentTime to advance by 0.5 s after the restart",
        async () => (await player.evaluate(() => (globalThis as unknown as InteropWindow).interop.whepState())).currentTime > restarted.currentTime + 0.5,
      );
      const restartPatch = (await exchanges(player)).find((x) => x.method === "PATCH" && x.headers["if-match"] === "*");
      assert.equal(restartPatch?.status, 200, "the restart PATCH is answered 200");

      await player.evaluate(() => (globalThis as unknown as InteropWindow).interop.whepStop());
      const sent = await exchanges(player);
      t.diagnostic(`exchanges: ${describe(sent)}`);
      const post = sent.find((x) => x.method === "POST");
      assert.equal(post?.status, 201);
      for (const patch of sent.filter((x) => x.method === "PATCH" && x.headers["if-match"] !== "*")) assert.equal(patch.status, 204, `PATCH ${patch.body}`);
      assert.equal(sent.find((x) => x.method === "DELETE")?.status, 200);
      await waitFor("the WHEP viewer gone from /api/devices", async () => (await device(e, "test"))?.viewers === before);
      assert.equal((await probe(player)).frames > 0, true);
      assert.deepEqual(await player.evaluate(() => (globalThis as unknown as InteropWindow).interop.asyncErrors()), []);
    }),
);
