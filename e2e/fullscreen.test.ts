/**
 * The viewer's fullscreen in Chromium: the button, `f` and a double-click
 * fill the screen with the player; the keyboard is locked (Keyboard Lock
 * API) only while this viewer controls the device in fullscreen, and then
 * `f` is the device's key, not a toggle. The controller's quality menus show
 * only to the controller.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import type { Page } from "playwright-core";
import { devicePublishing, framesAdvance, useEnv, waitFor, withPages } from "./harness.js";

// No built-in test device: its 720p encoder would take most of a core from the browsers here.
const env = useEnv(() => ["--source", "none"]);

/** The page's fullscreen state: the element shown fullscreen, the player's mirror attributes, and the keyboard lock calls so far. */
const state = (page: Page) =>
  page.evaluate<{ element: string | null; fullscreen: string | null; locked: string | null; calls: string[] }>(`(() => {
    const player = document.querySelector("#player");
    return {
      element: document.fullscreenElement ? document.fullscreenElement.id : null,
      fullscreen: player.getAttribute("data-fullscreen"),
      locked: player.getAttribute("data-keyboard-locked"),
      calls: [...(window.keyboardCalls ?? [])],
    };
  })()`);

/** Records the page's Keyboard Lock calls (and still makes them), so the test sees them even where headless Chromium refuses. */
const recordKeyboardLock = (page: Page) =>
  page.evaluate(`(() => {
    window.keyboardCalls = [];
    const k = navigator.keyboard;
    if (!k || typeof k.lock !== "function") throw new Error("this Chromium has no Keyboard Lock API");
    const lock = k.lock.bind(k);
    const unlock = k.unlock.bind(k);
    k.lock = (...args) => { window.keyboardCalls.push("lock"); return lock(...args); };
    k.unlock = () => { window.keyboardCalls.push("unlock"); unlock(); };
  })()`);

const deviceLines = (page: Page) => page.evaluate(() => [...(globalThis as unknown as { tessera: { inputLines: string[] } }).tessera.inputLines]);

test("fullscreen from the button, f and a double-click; the keyboard is locked only while in control", { timeout: 90_000 }, (t) =>
  withPages(t, env(), async (pages) => {
    const device = await pages.device("fs-cam", "Fullscreen cam");
    await devicePublishing(device);
    const viewer = await pages.viewer("fs-cam");
    await framesAdvance(viewer, 5, 15_000);
    await recordKeyboardLock(viewer);
    const becomes = (what: string, ok: (s: Awaited<ReturnType<typeof state>>) => boolean) =>
      waitFor(what, async () => {
        const s = await state(viewer);
        return ok(s) ? s : undefined;
      });

    await viewer.click("#fullscreen");
    await becomes("the player fullscreen", (s) => s.element === "player" && s.fullscreen === "true");
    assert.equal(await viewer.textContent("#fullscreen"), "Exit fullscreen");
    await viewer.keyboard.press("f");
    await becomes("out of fullscreen by f", (s) => s.element === null && s.fullscreen === "false");
    await viewer.dblclick("#video");
    await becomes("fullscreen by a double-click on the picture", (s) => s.element === "player");
    assert.deepEqual((await state(viewer)).calls, [], "no keyboard lock while only watching");
    assert.equal(await viewer.isHidden("#quality"), true, "the quality menus are the controller's");

    // Control taken in fullscreen (the control bar is part of the player): the keyboard is locked.
    await viewer.click("#control-toggle");
    await viewer.waitForSelector('#player[data-control="self"]', { timeout: 10_000 });
    await becomes("the keyboard locked", (s) => s.calls.join() === "lock");
    assert.equal(await viewer.isVisible("#quality"), true);
    const locked = (await state(viewer)).locked;
    t.diagnostic(`navigator.keyboard.lock() in headless Chromium: ${locked === "true" ? "resolved" : "refused"}`);
    // With the picture focused, f is the device's key and fullscreen stays.
    const mark = (await deviceLines(device)).length;
    await viewer.focus("#video");
    await viewer.keyboard.press("f");
    await waitFor("the device to get f", async () => (await deviceLines(device)).slice(mark).includes("kd,102"));
    assert.equal((await state(viewer)).element, "player", "still fullscreen");

    // Control given up: the keyboard is free again, fullscreen stays until asked.
    await viewer.click("#control-toggle");
    await viewer.waitForSelector('#player[data-control="none"]', { timeout: 10_000 });
    await becomes("the keyboard unlocked", (s) => s.calls.join() === "lock,unlock" && s.element === "player");
    await viewer.click("#fullscreen");
    await becomes("out of fullscreen by the button", (s) => s.element === null);
    assert.deepEqual((await state(viewer)).calls, ["lock", "unlock"], "nothing more");
  }),
);
