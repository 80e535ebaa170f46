/**
 * The viewer on a phone (Chromium at 390×844 with touch): the picture comes
 * first and the stats overlay starts off, the hint speaks of touch, and the
 * controller types through the soft keyboard and the row of keys phones lack
 * (Ctrl latched for the next key, Esc, arrows).
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import type { Page } from "playwright-core";
import { devicePublishing, framesAdvance, PHONE, useEnv, waitFor, withPages } from "./harness.js";
import { screenshot } from "./lib/screenshots.js";

const env = useEnv();

const deviceLines = (page: Page) => page.evaluate(() => [...(globalThis as unknown as { tessera: { inputLines: string[] } }).tessera.inputLines]);

test("a phone: touch hint, no stats over the picture, and typing through the soft keyboard and the key row", { timeout: 60_000 }, (t) =>
  withPages(t, env(), async (pages) => {
    const device = await pages.device("phone-cam", "Phone cam");
    await devicePublishing(device);
    const phone = await pages.viewer("phone-cam", "phone", {}, PHONE);
    await framesAdvance(phone, 5, 15_000);
    assert.equal(await phone.getAttribute("body", "data-touch"), "true");
    assert.equal(await phone.getAttribute("#player", "data-stats"), "off", "the stats overlay starts off on a phone");
    assert.equal(await phone.isHidden("#stats"), true);
    assert.equal(await phone.isHidden("#soft-keyboard"), true, "no keyboard before control");

    await phone.tap("#control-toggle");
    await phone.waitForSelector('#player[data-control="self"]', { timeout: 10_000 });
    assert.equal(await phone.isVisible(".touch-hint"), true);
    assert.equal(await phone.isHidden(".pointer-hint"), true, "no Ctrl+Alt+Shift talk on a phone");
    await phone.waitForSelector("#soft-keyboard:not([hidden])");
    assert.equal(await phone.isVisible("#soft-keys"), true);
    await screenshot(phone, "phone-control");

    const mark = (await deviceLines(device)).length;
    await phone.tap("#soft-keyboard");
    await waitFor("the soft keyboard's field focused", () =>
      phone.evaluate(() => (globalThis as unknown as { document: { activeElement: { id: string } } }).document.activeElement.id === "soft-input"),
    );
    await phone.keyboard.insertText("hé");
    await phone.tap('#soft-keys [data-key="Control"]');
    assert.equal(await phone.getAttribute('#soft-keys [data-key="Control"]', "aria-pressed"), "true");
    await phone.keyboard.insertText("c");
    assert.equal(await phone.getAttribute('#soft-keys [data-key="Control"]', "aria-pressed"), "false", "Ctrl lets go after one key");
    await phone.tap('#soft-keys [data-key="Escape"]');
    await phone.tap('#soft-keys [data-key="ArrowLeft"]');
    const want = ["kd,104", "ku,104", "kd,233", "ku,233", "kd,65507", "kd,99", "ku,99", "ku,65507", "kd,65307", "ku,65307", "kd,65361", "ku,65361"];
    const got = await waitFor("the keys on the device", async () => {
      const keys = (await deviceLines(device)).slice(mark).filter((l) => /^k[du],/.test(l));
      return keys.length >= want.length ? keys : undefined;
    });
    assert.deepEqual(got, want);
    assert.equal(await phone.inputValue("#soft-input"), "", "nothing piles up in the field");
  }),
);

test(
  "a phone: two fingers zoom the picture locally while watching, one pans it, a double tap resets; fullscreen asks for landscape",
  { timeout: 60_000 },
  (t) =>
    withPages(t, env(), async (pages) => {
      const phone = await pages.viewer("test", "phone", {}, PHONE);
      await framesAdvance(phone, 5, 15_000);
      const box = async () => (await phone.locator("#video").boundingBox())!;
      const before = await box();
      // Multi-touch through the DevTools protocol (Playwright's touchscreen taps with one finger only).
      const cdp = await phone.context().newCDPSession(phone);
      const touch = (type: "touchStart" | "touchMove" | "touchEnd", points: Array<[number, number]>) =>
        cdp.send("Input.dispatchTouchEvent", { type, touchPoints: points.map(([x, y], id) => ({ x, y, id })) });
      const cx = before.x + before.width / 2;
      const cy = before.y + before.height / 2;
      await touch("touchStart", [
        [cx - 40, cy],
        [cx + 40, cy],
      ]);
      for (const spread of [60, 80]) {
        await touch("touchMove", [
          [cx - spread, cy],
          [cx + spread, cy],
        ]);
      }
      await touch("touchEnd", []);
      const zoom = Number(await phone.getAttribute("#player", "data-zoom"));
      const after = await box();
      t.diagnostic(`pinched from 80 to 160 px: zoom ${zoom}, picture ${before.width.toFixed(0)} → ${after.width.toFixed(0)} px wide`);
      assert.ok(Math.abs(zoom - 2) < 0.05, `zoom ${zoom}`);
      assert.ok(Math.abs(after.width / before.width - 2) < 0.05, "the picture is twice as wide");
      assert.ok(Math.abs(after.x + after.width / 2 - cx) < 2, "zoomed around the fingers' midpoint");
      assert.equal(
        (await phone.evaluate(() => (globalThis as unknown as { tessera: { sentLines: string[] } }).tessera.sentLines)).length,
        0,
        "nothing went to the device",
      );

      await touch("touchStart", [[cx, cy]]);
      await touch("touchMove", [[cx + 30, cy + 10]]);
      await touch("touchEnd", []);
      const panned = await box();
      assert.ok(
        Math.abs(panned.x - after.x - 30) < 2 && Math.abs(panned.y - after.y - 10) < 2,
        `one finger pans the zoomed picture: ${JSON.stringify([after, panned])}`,
      );
      await phone.tap("#video");
      await phone.tap("#video");
      await waitFor("back to 1x", async () => (await phone.getAttribute("#player", "data-zoom")) === "1.00");

      // Fullscreen on a phone asks for landscape (recorded: headless Chromium has no screen to turn).
      await phone.evaluate(`(() => {
      window.orientationCalls = [];
      screen.orientation.lock = (o) => { window.orientationCalls.push(o); return Promise.resolve(); };
    })()`);
      await phone.tap("#fullscreen");
      await waitFor("landscape asked for", async () => (await phone.evaluate<string[]>("window.orientationCalls")).join() === "landscape");
    }),
);

test("a phone on its side: the picture comes first and fits the screen whole, its buttons inside it, no stats over it", { timeout: 60_000 }, (t) =>
  withPages(t, env(), async (pages) => {
    const device = await pages.device("side-cam", "Side cam");
    await devicePublishing(device);
    const phone = await pages.viewer("side-cam", "phone-landscape", {}, { ...PHONE, viewport: { width: 844, height: 390 } });
    await framesAdvance(phone, 5, 15_000);
    await phone.tap("#control-toggle");
    await phone.waitForSelector('#player[data-control="self"]', { timeout: 10_000 });
    assert.equal(await phone.getAttribute("#player", "data-stats"), "off", "the stats overlay starts off on a short screen");
    await phone.evaluate(`document.querySelector(".stage").scrollIntoView({ block: "start" })`);
    const box = await phone.evaluate<{ stage: number[]; player: number[]; list: number[]; controls: number[]; height: number }>(`(() => {
      const r = (s) => { const b = document.querySelector(s).getBoundingClientRect(); return [b.left, b.top, b.right, b.bottom]; };
      return { stage: r(".stage"), player: r("#player"), list: r("#devices"), controls: r(".controls"), height: innerHeight };
    })()`);
    t.diagnostic(JSON.stringify(box));
    const [left, top, right, bottom] = box.stage;
    assert.ok(top >= -1 && bottom <= box.height + 1, `the picture fits the screen's height: ${top}…${bottom} of ${box.height}`);
    assert.ok(box.list[1] >= box.player[3] - 1, "the device list comes after the player");
    const [cl, ct, cr, cb] = box.controls;
    assert.ok(
      cl >= left - 1 && cr <= right + 1 && ct >= top - 1 && cb <= bottom + 1,
      `the media bar stays inside the picture: ${box.controls} in ${box.stage}`,
    );
    await screenshot(phone, "phone-landscape");
  }),
);
