/**
 * `--auth firebase` with `--firebase-web-config`: the pages sign in with the
 * Firebase JS SDK, against the real Auth emulator, and use the ID token it
 * keeps for the API and the sockets. The server is a child process told
 * FIREBASE_AUTH_EMULATOR_HOST, so the pages (and its CSP) use the emulator.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import type { Browser, Page } from "playwright-core";
import { FirebaseAuthEmulator } from "./lib/firebase-emulator.js";
import { WeriftDevice } from "./lib/werift-peers.js";
import { devicePublishing, framesAdvance, launchBrowser, startServer, waitFor, withPages, type Env, type TestServer } from "./harness.js";

const PASSWORD = "correct-horse-42";
const ALICE = "alice@tessera.test";
const BOB = "bob@tessera.test";

let emulator: FirebaseAuthEmulator | undefined;
let server: TestServer | undefined;
let browser: Browser | undefined;
let dir: string | undefined;
let alice: { uid: string; idToken: string };
let bob: { uid: string; idToken: string };

before(async () => {
  emulator = await FirebaseAuthEmulator.start();
  alice = await emulator.signUp(ALICE, PASSWORD);
  bob = await emulator.signUp(BOB, PASSWORD);
  dir = mkdtempSync(join(tmpdir(), "tessera-e2e-firebase-"));
  const webConfig = join(dir, "firebase-web.json");
  writeFileSync(webConfig, JSON.stringify({ apiKey: "demo-api-key", authDomain: `${emulator.projectId}.firebaseapp.com`, projectId: emulator.projectId }));
  server = await startServer({
    args: ["--auth", "firebase", "--firebase-project", emulator.projectId, "--firebase-web-config", webConfig, "--source", "none"],
    env: { FIREBASE_AUTH_EMULATOR_HOST: emulator.host },
  });
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close().catch(() => undefined);
  await server?.close();
  await emulator?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const env = (): Env => {
  if (!server || !browser) throw new Error("the e2e environment did not start");
  return { server, browser };
};

/** What the pages' consoles said about the Content-Security-Policy refusing something. */
const cspViolations: string[] = [];

/** Fails the test if the page falls back to the paste-a-token prompt; collects its CSP violations into `cspViolations`. */
function refusePrompts(page: Page): void {
  page.on("dialog", (d) => {
    void d.dismiss();
    assert.fail(`unexpected ${d.type()} dialog: ${d.message()}`);
  });
  page.on("console", (m) => {
    if (/Content Security Policy/i.test(m.text())) cspViolations.push(m.text());
  });
}

/** Signs the page in through its form, as a person would. */
async function signIn(page: Page, email: string): Promise<void> {
  await page.waitForSelector('#account[data-state="signed-out"] #sign-in-email', { state: "visible", timeout: 15_000 });
  await page.fill("#sign-in-email", email);
  await page.fill("#sign-in-password", PASSWORD);
  await page.click('#sign-in button[type="submit"]');
  await page.waitForSelector('#account[data-state="signed-in"]', { timeout: 10_000 });
  assert.equal(await page.textContent("#account-email"), email);
}

/** The ids GET /api/devices lists for an ID token, with their online flags. */
async function listedFor(idToken: string): Promise<Record<string, boolean>> {
  const res = await fetch(`${env().server.url}api/devices`, { headers: { Authorization: `Bearer ${idToken}` } });
  assert.equal(res.status, 200);
  const { devices } = (await res.json()) as { devices: { id: string; online: boolean }[] };
  return Object.fromEntries(devices.map((d) => [d.id, d.online]));
}

test("the viewer signs in with the Firebase SDK and plays its account's device; another account's viewer lists nothing", { timeout: 60_000 }, (t) =>
  withPages(t, env(), async (pages) => {
    const wsUrl = `${env().server.url.replace(/^http/, "ws")}ws`;
    const device = await WeriftDevice.publish(wsUrl, { id: "cam-alice", name: "Alice's camera", token: alice.idToken });
    try {
      const viewer = await pages.viewer("cam-alice", "viewer-alice");
      refusePrompts(viewer);
      await signIn(viewer, ALICE);
      await viewer.waitForSelector('#devices button[data-device-id="cam-alice"][data-online="true"]', { timeout: 10_000 });
      const { ms, width, height } = await framesAdvance(viewer, 20, 15_000);
      t.diagnostic(`alice's viewer: 20 frames in ${ms} ms, ${width}x${height}`);
      assert.deepEqual(cspViolations, [], "the CSP lets the SDK reach the emulator");

      const other = await pages.viewer("cam-alice", "viewer-bob");
      refusePrompts(other);
      await signIn(other, BOB);
      await other.waitForSelector('body[data-signaling="open"]', { timeout: 10_000 });
      // To bob, alice's device is one that does not exist: his viewer waits for it, and learns nothing more.
      await other.waitForSelector('#player[data-device-state="offline"]', { timeout: 10_000 });
      assert.equal(await other.getAttribute("#player", "data-error"), null);
      assert.equal(await other.locator("#devices button[data-device-id]").count(), 0, "bob's list is empty");
      assert.equal(await other.evaluate(() => (globalThis as unknown as { tessera: { devices: unknown[] } }).tessera.devices.length), 0);
    } finally {
      await device.close();
    }
  }),
);

test("the device page signs in the same way and publishes to that account; signing out brings the form back and ends it", { timeout: 60_000 }, (t) =>
  withPages(t, env(), async (pages) => {
    const page = await pages.device("cam-bob", "Bob's camera", "device-bob");
    refusePrompts(page);
    await signIn(page, BOB);
    await devicePublishing(page);
    await waitFor("cam-bob listed online for bob", async () => (await listedFor(bob.idToken))["cam-bob"] === true);
    assert.equal((await listedFor(alice.idToken))["cam-bob"], undefined, "not alice's");

    await page.click("#sign-out");
    await page.waitForSelector('#account[data-state="signed-out"] #sign-in-email', { state: "visible", timeout: 10_000 });
    await waitFor("cam-bob offline once bob signed out", async () => (await listedFor(bob.idToken))["cam-bob"] === false);
  }),
);

test("a #token= fragment still publishes without the form when the server serves a web config, once the user starts it", { timeout: 60_000 }, (t) =>
  withPages(t, env(), async (pages) => {
    const page = await pages.device("cam-token", "Scripted camera", "device-token", `token=${alice.idToken}`);
    refusePrompts(page);
    // A link's own token means another's account may be the one published to: autostart waits for a click.
    await waitFor("the page asking before it publishes", async () =>
      (await page.textContent("#device-message"))?.includes("whoever made it") ? true : undefined,
    );
    assert.equal(await page.getAttribute("body", "data-state"), "idle", "nothing published before the click");
    await page.click("#publish-camera");
    await devicePublishing(page);
    assert.equal(await page.textContent("#acting-account"), alice.uid, "the page shows the account it publishes to");
    assert.equal(await page.locator("#account").count(), 0, "no sign-in form");
    await waitFor("cam-token listed online for alice", async () => (await listedFor(alice.idToken))["cam-token"] === true);
  }),
);
