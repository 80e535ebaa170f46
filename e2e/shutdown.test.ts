/**
 * A graceful stop and a restart: SIGTERM while a WebRTC device, a WebRTC
 * viewer and a fallback viewer (a decoder and stripe encoders with their bus
 * polls and appsink pulls pending) are live. The server says `bye`, exits 0
 * within its bound, keeps what it stored, and after a restart on the same
 * port and data directory the pages resume by themselves.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import type { Browser } from "playwright-core";
import { FallbackClient } from "./lib/fallback-client.js";
import { SignalingClient } from "./lib/signaling-client.js";
import {
  deviceState,
  devicePublishing,
  framesAdvance,
  launchBrowser,
  probe,
  readMetric,
  startServer,
  waitFor,
  withPages,
  type Env,
  type TestServer,
} from "./harness.js";

/** The server's own exit bound (server/main.ts): past it, it exits 1. */
const EXIT_BOUND_MS = 5000;

let browser: Browser | undefined;
before(async () => {
  browser = await launchBrowser();
});
after(async () => {
  await browser?.close();
});

test("SIGTERM: bye to every peer, exit 0 within the bound with pipelines running, and everything resumes after a restart", { timeout: 90_000 }, async (t) => {
  if (!browser) throw new Error("no browser");
  const dataDir = mkdtempSync(join(tmpdir(), "tessera-shutdown-"));
  const args = ["--data-dir", dataDir];
  let server: TestServer = await startServer({ args });
  const port = Number(new URL(server.url).port);
  const env: Env = {
    browser,
    get server() {
      return server;
    },
  };
  const clients: Array<{ close(): void }> = [];
  try {
    // Something the server must keep: a device key, written to its store.
    const made = await fetch(`${server.url}api/keys`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ label: "kept" }),
    });
    assert.equal(made.status, 201, await made.clone().text());
    const key = ((await made.json()) as { id: string }).id;

    await withPages(t, env, async (pages) => {
      const device = await pages.device("cam-term", "Shutdown cam");
      await devicePublishing(device);
      const viewer = await pages.viewer("cam-term", "viewer");
      await framesAdvance(viewer, 10, 15_000);
      const offersBefore = (await deviceState(device)).offers;

      // A fallback viewer of the test device: its decoder and stripe encoders run.
      const wsBase = server.url.replace(/^http/, "ws");
      const fallback = new FallbackClient(`${wsBase}ws/stream/test?codec=jpeg`);
      clients.push(fallback);
      await waitFor("stripes at the fallback viewer", async () => fallback.stripes.length > 0 || undefined, { timeoutMs: 15_000 });
      assert.ok((await readMetric(server, "tessera_pipelines_active", { kind: "decode" })) >= 1, "a decoder runs");
      const watcher = await SignalingClient.connect(`${wsBase}ws`);
      clients.push(watcher);
      watcher.send({ type: "hello", role: "viewer", protocol: 1 });
      await watcher.next("welcome");

      const exit = await server.close("SIGTERM", 15_000);
      t.diagnostic(`exit ${JSON.stringify(exit)}`);
      assert.deepEqual({ code: exit.code, signal: exit.signal }, { code: 0, signal: null }, server.logs.slice(-20).join("\n"));
      assert.ok(exit.ms < EXIT_BOUND_MS, `exited after ${Math.round(exit.ms)} ms`);
      assert.deepEqual(
        watcher.received.filter((m) => m.type === "bye"),
        [{ type: "bye", reason: "server shutting down" }],
      );
      assert.equal(await watcher.closed(), 1001);
      await waitFor("the fallback socket closed", async () => fallback.closeCode, { timeoutMs: 5000 });
      assert.equal(fallback.closeCode, 1001);
      assert.ok(
        server.logs.some((l) => /test device stopped/.test(l)),
        "the test device's pipeline stopped",
      );

      server = await startServer({ port, args });
      await waitFor("the device page to offer again", async () => (await deviceState(device)).offers > offersBefore || undefined, { timeoutMs: 20_000 });
      await devicePublishing(device);
      const mark = (await probe(viewer)).frames;
      await waitFor("the viewer page to play again", async () => (await probe(viewer)).frames >= mark + 10 || undefined, { timeoutMs: 25_000 });
      const keys = (await (await fetch(`${server.url}api/keys`)).json()) as { keys: Array<{ id: string; label?: string }> };
      assert.ok(
        keys.keys.some((k) => k.id === key),
        `the key made before the stop is still there: ${JSON.stringify(keys)}`,
      );
    });
  } finally {
    for (const c of clients) c.close();
    await server.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
});
